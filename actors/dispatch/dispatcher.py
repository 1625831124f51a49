"""The dispatcher: puts a waiting call on the least-loaded runner of its pool.

For each attempt: the runner's owner reserves a slot, ``RunnerAssigned`` is
appended (so a fast accept always finds its offer on record), ``job.assign``
goes out with a fresh ``assign_id`` and a deadline; a rejection or timeout is
recorded and the next runner is tried. With no free slot anywhere the call is
queued until a slot frees up (the load board says so) or the queue timeout
ends it. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from actors.deciders.call import CallState, runner_metadata
from actors.dispatch.load_board import LoadBoard, RunnerLoad
from actors.dispatch.registry import OfferResult
from actors.host import ActorHost
from bus_contracts import calls as k
from bus_contracts import frames as f

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """How a dispatch ended: on a runner, or with the call ended."""

    worker_id: str | None
    job_id: str | None
    ended: str | None = None
    #: The node holding the runner's control socket (its slot is freed there).
    node_id: str | None = None


class RunnerOffers:
    """How the dispatcher reaches a runner's owner node (local, or over NATS)."""

    async def reserve(self, runner: RunnerLoad, assign_id: str, deadline_s: float) -> str | None:
        raise NotImplementedError

    async def deliver(self, runner: RunnerLoad, assign: f.JobAssign, deadline_s: float) -> OfferResult:
        raise NotImplementedError

    async def finish(self, node_id: str, worker_id: str, job_id: str) -> None:
        """The call ended: free the runner's slot at its owner."""
        raise NotImplementedError


class Dispatcher:
    def __init__(
        self,
        calls: ActorHost[CallState],
        board: LoadBoard,
        offers: RunnerOffers,
        *,
        bridge_url: Callable[[str], str],
        call_token: Callable[[str, str], str],
        deadline_ms: int = 2000,
        max_attempts: int = 6,
        queue_timeout_s: float = 30.0,
    ) -> None:
        self.calls = calls
        self.board = board
        self.offers = offers
        self.bridge_url = bridge_url
        self.call_token = call_token
        self.deadline_ms = deadline_ms
        self.max_attempts = max_attempts
        self.queue_timeout_s = queue_timeout_s
        self._capacity_changed: dict[tuple[str, str], asyncio.Event] = {}
        self.queued: dict[str, tuple[str, str]] = {}  # call_id -> pool, while waiting for a slot
        #: Called with (project_id, agent_id, this node's queue length) when it changes.
        self.on_queue_change: Callable[[str, str, int], None] | None = None
        self._background: set[asyncio.Future] = set()
        board.on_change(self._on_board_change)

    def _on_board_change(self, load: RunnerLoad | None, _key: str) -> None:
        if load is None:
            return
        event = self._capacity_changed.get((load.project_id, load.agent_id))
        if event is not None and load.free > 0:
            event.set()

    def queued_for(self, project_id: str, agent_id: str) -> int:
        return sum(1 for pool in self.queued.values() if pool == (project_id, agent_id))

    async def dispatch(self, call_id: str) -> Placement:
        # The node hosting a call is the one that writes it: its actor's view is current.
        state = (await self.calls.view(call_id)).state
        request = state.request
        if request is None or state.agent_id is None:
            raise ValueError(f"call {call_id} has no runner pool to dispatch to")
        project_id, agent_id = request.project_id, state.agent_id
        pool = (project_id, agent_id)
        declined: set[str] = set(state.declined)
        attempts = 0
        queue_deadline = time.monotonic() + self.queue_timeout_s
        while True:
            candidates = self.board.candidates(project_id, agent_id, exclude=tuple(declined))
            if not candidates:
                ended = await self._wait_for_capacity(call_id, pool, queue_deadline, tuple(declined))
                if ended:
                    return Placement(None, None, ended)
                declined.clear()  # capacity changed: everyone may be asked again
                continue
            runner = candidates[0]
            placed = await self._offer(call_id, state, runner)
            if isinstance(placed, Placement):
                return placed
            declined.add(runner.worker_id)
            if placed != "no_capacity":  # a stale board is not the runner's fault
                attempts += 1
            if attempts >= self.max_attempts:
                await self.calls.execute(
                    call_id,
                    k.EndCall(
                        project_id=project_id, reason="no_runner", detail="every attempt was refused or timed out"
                    ),
                )
                return Placement(None, None, "no_runner")

    async def _offer(self, call_id: str, state: CallState, runner: RunnerLoad) -> Placement | str:
        request = state.request
        assert request is not None
        project_id = request.project_id
        assign_id = "as_" + uuid.uuid4().hex
        deadline_s = self.deadline_ms / 1000
        refused = await self.offers.reserve(runner, assign_id, deadline_s)
        if refused is not None:
            return refused
        # Recorded while the offer travels: the log's order is fixed here, and a
        # refusal (the call ended meanwhile) withdraws the offer below.
        assigned = self.calls.submit(
            call_id,
            k.AssignRunner(
                project_id=project_id, worker_id=runner.worker_id, assign_id=assign_id, deadline_ms=self.deadline_ms
            ),
        )
        job_id = "job_" + uuid.uuid4().hex
        assign = f.JobAssign(
            job_id=job_id,
            call_id=call_id,
            agent_id=state.agent_id or "",
            bridge_url=self.bridge_url(call_id),
            call_token=self.call_token(call_id, runner.worker_id),
            assign_id=assign_id,
            deadline_ms=self.deadline_ms,
            metadata=runner_metadata(state),
        )
        delivered = asyncio.ensure_future(self.offers.deliver(runner, assign, deadline_s))
        try:
            await assigned
        except BaseException:
            self._withdraw_if_accepted(delivered, runner, job_id)
            raise
        result = await delivered
        if result.accepted:
            await self.calls.execute(
                call_id, k.AcceptAssignment(project_id=project_id, worker_id=runner.worker_id, assign_id=assign_id)
            )
            return Placement(runner.worker_id, job_id, node_id=runner.node_id)
        await self.calls.execute(
            call_id,
            k.RejectAssignment(
                project_id=project_id, worker_id=runner.worker_id, assign_id=assign_id, reason=result.reason
            ),
        )
        return result.reason

    def _withdraw_if_accepted(self, delivered: asyncio.Future[OfferResult], runner: RunnerLoad, job_id: str) -> None:
        """An offer whose assignment was never recorded (the call ended meanwhile): should
        the runner accept it, free the slot again. Its bridge is refused (the call is over)."""

        def answered(task: asyncio.Future[OfferResult]) -> None:
            if task.cancelled() or task.exception() is not None or not task.result().accepted:
                return
            finish = asyncio.ensure_future(self.offers.finish(runner.node_id, runner.worker_id, job_id))
            self._background.add(finish)
            finish.add_done_callback(self._background.discard)

        delivered.add_done_callback(answered)

    async def _wait_for_capacity(
        self, call_id: str, pool: tuple[str, str], deadline: float, declined: tuple[str, ...]
    ) -> str | None:
        """Queue the call until a slot frees up in its pool; the end reason if it never does."""
        project_id = pool[0]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            await self.calls.execute(
                call_id,
                k.EndCall(project_id=project_id, reason="queue_timeout", detail="no runner had a free slot in time"),
            )
            return "queue_timeout"
        await self.calls.execute(call_id, k.QueueCall(project_id=project_id))
        event = self._capacity_changed.setdefault(pool, asyncio.Event())
        event.clear()
        self.queued[call_id] = pool
        self._queue_changed(pool)
        try:
            if self.board.candidates(*pool, exclude=declined):  # freed between our look and the clear
                return None
            await asyncio.wait_for(event.wait(), remaining)
            return None
        except TimeoutError:
            await self.calls.execute(
                call_id,
                k.EndCall(project_id=project_id, reason="queue_timeout", detail="no runner had a free slot in time"),
            )
            return "queue_timeout"
        finally:
            self.queued.pop(call_id, None)
            self._queue_changed(pool)

    def _queue_changed(self, pool: tuple[str, str]) -> None:
        if self.on_queue_change is not None:
            self.on_queue_change(pool[0], pool[1], self.queued_for(*pool))
