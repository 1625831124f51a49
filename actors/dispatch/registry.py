"""The runners whose control sockets this node holds, and offers made to them.

Transport-agnostic: a link carries a ``send`` coroutine for text frames, so the
WebSocket lives in the API layer and this stays testable on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from actors.dispatch.load_board import LoadBoard, RunnerLoad
from actors.dispatch.slots import RunnerSlots
from bus_contracts import frames as f
from bus_contracts.ids import runner_aggregate_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfferResult:
    accepted: bool
    #: ``accepted``, the runner's reason, ``timeout``, ``no_capacity`` or ``gone``.
    reason: str


@dataclass
class RunnerLink:
    slots: RunnerSlots
    send: Callable[[str], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    last_heartbeat: float = field(default_factory=time.monotonic)
    features: frozenset[str] = frozenset()
    #: assign_id -> the open offer's future; job_id -> assign_id (for acks without assign_id).
    pending: dict[str, asyncio.Future[f.JobAck]] = field(default_factory=dict)
    assign_of_job: dict[str, str] = field(default_factory=dict)

    @property
    def worker_id(self) -> str:
        return self.slots.worker_id


class LocalRunners:
    def __init__(self, node_id: str, board: LoadBoard, *, board_interval_s: float = 0.01) -> None:
        self.node_id = node_id
        self.board = board
        self.links: dict[str, RunnerLink] = {}
        # Load changes reach the board coalesced per runner: the board is a hint (the
        # owner's slots decide), and one KV put per offer step was most of a dispatch.
        self.board_interval_s = board_interval_s
        self._dirty: set[str] = set()
        self._flush_wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    # --- membership ---

    async def attach(self, link: RunnerLink) -> RunnerLink | None:
        """Add a runner; returns the link it replaces (same worker id reconnecting), if any."""
        previous = self.links.get(link.worker_id)
        self.links[link.worker_id] = link
        await self.publish(link)
        return previous

    async def detach(self, link: RunnerLink) -> None:
        if self.links.get(link.worker_id) is link:
            del self.links[link.worker_id]
            await self.board.remove(link.worker_id)
        for future in link.pending.values():
            if not future.done():
                future.cancel()

    def mark_changed(self, link: RunnerLink) -> None:
        """This node's view changes now (its slots are the truth); the KV put that
        other nodes see is coalesced."""
        self.board.entries[runner_aggregate_id(link.worker_id)] = self._load(link)
        self._dirty.add(link.worker_id)
        self._flush_wake.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name="board-flush")

    async def _flush(self) -> None:
        while True:
            await self._flush_wake.wait()
            await asyncio.sleep(self.board_interval_s)
            self._flush_wake.clear()
            dirty, self._dirty = self._dirty, set()
            for worker_id in dirty:
                link = self.links.get(worker_id)
                if link is not None:
                    with contextlib.suppress(Exception):
                        await self.publish(link)

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher

    def _load(self, link: RunnerLink) -> RunnerLoad:
        s = link.slots
        return RunnerLoad(
            worker_id=s.worker_id,
            project_id=s.project_id,
            agent_id=s.agent_id,
            pool=s.pool,
            node_id=self.node_id,
            capacity=s.capacity,
            load=s.load,
            draining=s.draining,
            says_full=s.says_full,
            updated_at=time.time(),
        )

    async def publish(self, link: RunnerLink) -> None:
        await self.board.publish(self._load(link))

    # --- offers ---

    def reserve(self, worker_id: str, assign_id: str, deadline_s: float) -> str | None:
        """Hold a slot for an offer; None on success, else why not."""
        link = self.links.get(worker_id)
        if link is None:
            return "gone"
        return None if link.slots.reserve(assign_id, deadline_s) else "no_capacity"

    async def deliver(self, worker_id: str, assign: f.JobAssign, deadline_s: float) -> OfferResult:
        """Send ``job.assign`` (a slot is already reserved) and wait for the runner's ack."""
        link = self.links.get(worker_id)
        if link is None:
            return OfferResult(False, "gone")
        future: asyncio.Future[f.JobAck] = asyncio.get_running_loop().create_future()
        link.pending[assign.assign_id] = future
        link.assign_of_job[assign.job_id] = assign.assign_id
        self.mark_changed(link)
        try:
            await link.send(f.encode(assign))
            ack = await asyncio.wait_for(future, deadline_s)
        except (TimeoutError, asyncio.CancelledError, ConnectionError) as exc:
            link.slots.release(assign.assign_id)
            if isinstance(exc, TimeoutError):
                # A late accept must not start a session nobody will bridge to.
                with contextlib.suppress(Exception):
                    await link.send(f.encode(f.JobCancel(job_id=assign.job_id)))
            await self._republish(link)
            if isinstance(exc, asyncio.CancelledError) and asyncio.current_task().cancelling():
                raise
            return OfferResult(False, "timeout" if isinstance(exc, TimeoutError) else "gone")
        finally:
            link.pending.pop(assign.assign_id, None)
            link.assign_of_job.pop(assign.job_id, None)
        if ack.accepted:
            link.slots.confirm(assign.assign_id, assign.job_id, assign.call_id)
        else:
            link.slots.release(assign.assign_id)
            link.slots.says_full = ack.reason == "at_capacity" or link.slots.says_full
        await self._republish(link)
        return OfferResult(ack.accepted, "accepted" if ack.accepted else (ack.reason or "rejected"))

    def on_ack(self, worker_id: str, ack: f.JobAck) -> bool:
        """A ``job.ack`` arrived; False if it answers no open offer (late or unknown)."""
        link = self.links.get(worker_id)
        if link is None:
            return False
        key = ack.assign_id if ack.assign_id in link.pending else link.assign_of_job.get(ack.job_id)
        future = link.pending.get(key) if key else None
        if future is None or future.done():
            return False
        future.set_result(ack)
        return True

    async def finish(self, worker_id: str, job_id: str) -> None:
        link = self.links.get(worker_id)
        if link is None:
            return
        said_full = link.slots.says_full
        if link.slots.finish(job_id) is not None or said_full:
            await self._republish(link)

    async def _republish(self, link: RunnerLink) -> None:
        if self.links.get(link.worker_id) is link:
            self.mark_changed(link)
