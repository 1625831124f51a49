"""The actor runtime: one actor per aggregate id, activated on demand.

An actor rehydrates by folding its subject, then serialises commands through
its mailbox: decide, append (expecting its version), evolve. Its cached state
may be stale when another node wrote the same aggregate, so:

* an append that loses the race (``ConcurrencyError``) reloads and re-decides;
* a refusal or a no-op decided on cached state is re-checked after catching up,
  so nobody is told "already done" or "taken" on the strength of old news.

Idle actors passivate; the next command rehydrates them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from actors.decider import Decider
from actors.errors import ConcurrencyError, NotFound, Rejected
from actors.event_store import EventStore
from bus_contracts.commands import Command
from bus_contracts.envelope import Envelope, Event, seal
from bus_contracts.subjects import is_valid_aggregate_id

log = logging.getLogger(__name__)
S = TypeVar("S")


@dataclass(frozen=True)
class Outcome(Generic[S]):
    state: S
    version: int
    events: tuple[Event, ...]

    @property
    def changed(self) -> bool:
        return bool(self.events)


@dataclass
class _Job:
    command: Command | None  # None = read the current state
    trace: dict[str, str]
    future: asyncio.Future
    #: For a read: catch up with the log first (else the actor's own view will do).
    catch_up: bool = True
    #: The id is fresh (just generated): start from the initial state without loading.
    new: bool = False


class TooManyConflicts(Exception):
    pass


class Actor(Generic[S]):
    def __init__(self, host: ActorHost[S], aggregate_id: str) -> None:
        self.host = host
        self.aggregate_id = aggregate_id
        self.mailbox: asyncio.Queue[_Job] = asyncio.Queue()
        self.state: S | None = None
        self.version = 0
        self.task = asyncio.create_task(self._run(), name=f"actor:{host.decider.aggregate}:{aggregate_id}")

    async def _run(self) -> None:
        host = self.host
        mailbox = self.mailbox
        while True:
            if mailbox.empty():
                try:
                    # asyncio.timeout, not wait_for: no extra task per wake-up on the hot path.
                    async with asyncio.timeout(host.idle_timeout):
                        job = await mailbox.get()
                except TimeoutError:
                    if mailbox.empty():  # no await between this check and leaving
                        host._passivated(self)
                        return
                    continue
            else:
                job = mailbox.get_nowait()
            if job.future.done():  # the caller gave up
                job = None
                continue
            try:
                outcome = await self._handle(job)
            except asyncio.CancelledError:
                job.future.cancel()
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self.state = None  # rehydrate on the next command: never trust state after a failure
                if not job.future.done():
                    job.future.set_exception(exc)
            else:
                if not job.future.done():
                    job.future.set_result(outcome)
            # An idle actor must not pin its last job: a failed one holds a traceback,
            # and through its frames the caller's whole connection, until a full GC.
            job = outcome = None

    async def _refresh(self) -> int:
        decider, store = self.host.decider, self.host.store
        if self.state is None:
            loaded = await store.load(decider, self.aggregate_id)
        else:
            loaded = await store.catch_up(decider, self.aggregate_id, self.state, self.version)
        self.state, self.version = loaded.state, loaded.version
        return loaded.events

    async def _handle(self, job: _Job) -> Outcome[S]:
        decider = self.host.decider
        fresh = False
        if self.state is None and job.new:
            # Nothing to load for an id nobody has used; the append expects an empty
            # subject, so were it not empty after all, the conflict reloads.
            self.state, self.version = decider.initial(), 0
        elif self.state is None or (job.command is None and job.catch_up):
            await self._refresh()
            fresh = True
        if job.command is None:
            return Outcome(self.state, self.version, ())
        for _ in range(self.host.max_attempts):
            assert self.state is not None
            try:
                events = tuple(decider.decide(job.command, self.state))
            except Rejected:
                if fresh:
                    raise
                await self._refresh()
                fresh = True
                continue
            if not events:
                if fresh:
                    return Outcome(self.state, self.version, ())
                await self._refresh()
                fresh = True
                continue
            envelopes = [
                seal(ev, aggregate_id=self.aggregate_id, project_id=job.command.project_id, trace=job.trace)
                for ev in events
            ]
            try:
                result = await self._append(envelopes)
            except ConcurrencyError:
                await self._refresh()
                fresh = True
                continue
            self.state = decider.fold(self.state, events)
            self.version = result
            return Outcome(self.state, self.version, events)
        raise TooManyConflicts(
            f"{decider.aggregate} {self.aggregate_id}: gave up after {self.host.max_attempts} conflicting attempts"
        )

    async def _append(self, envelopes: Sequence[Envelope]) -> int:
        # The store retries transient failures with the same event ids.
        return (await self.host.store.append(envelopes, self.version)).last_seq


class ActorHost(Generic[S]):
    """Activates, feeds and passivates the actors of one aggregate kind."""

    def __init__(
        self,
        store: EventStore,
        decider: Decider[S],
        *,
        idle_timeout: float = 60.0,
        max_attempts: int = 8,
        command_timeout: float = 30.0,
    ) -> None:
        self.store = store
        self.decider = decider
        self.idle_timeout = idle_timeout
        self.max_attempts = max_attempts
        self.command_timeout = command_timeout
        self._actors: dict[str, Actor[S]] = {}

    def _actor(self, aggregate_id: str) -> Actor[S]:
        if not is_valid_aggregate_id(aggregate_id):
            # No such id can exist; answer like any unknown id instead of failing on the subject.
            raise NotFound(f"{self.decider.aggregate} not found")
        actor = self._actors.get(aggregate_id)
        if actor is None or actor.task.done():
            actor = self._actors[aggregate_id] = Actor(self, aggregate_id)
        return actor

    def _passivated(self, actor: Actor[S]) -> None:
        if self._actors.get(actor.aggregate_id) is actor:
            del self._actors[actor.aggregate_id]

    @property
    def active(self) -> int:
        return len(self._actors)

    def _enqueue(
        self,
        aggregate_id: str,
        command: Command | None,
        trace: dict[str, str] | None,
        catch_up: bool = True,
        new: bool = False,
    ) -> asyncio.Future:
        future: asyncio.Future[Outcome[S]] = asyncio.get_running_loop().create_future()
        self._actor(aggregate_id).mailbox.put_nowait(_Job(command, dict(trace or {}), future, catch_up, new))
        return future

    async def _outcome(self, future: asyncio.Future) -> Outcome[S]:
        async with asyncio.timeout(self.command_timeout):
            return await future

    async def execute(self, aggregate_id: str, command: Command, *, trace: dict[str, str] | None = None) -> Outcome[S]:
        """Run a command through the aggregate's actor; raises ``Rejected`` on refusal."""
        return await self._outcome(self._enqueue(aggregate_id, command, trace))

    async def create(self, aggregate_id: str, command: Command, *, trace: dict[str, str] | None = None) -> Outcome[S]:
        """Like :meth:`execute`, for an id just generated (a new call): skips loading
        a subject that cannot have events yet."""
        return await self._outcome(self._enqueue(aggregate_id, command, trace, new=True))

    def submit(
        self, aggregate_id: str, command: Command, *, trace: dict[str, str] | None = None
    ) -> Coroutine[Any, Any, Outcome[S]]:
        """Queue a command in the actor's mailbox now; await the result for its outcome.

        For work that may run while the command is decided and appended: the
        mailbox order, and so the log's, is fixed at this call.
        """
        return self._outcome(self._enqueue(aggregate_id, command, trace))

    async def read(self, aggregate_id: str) -> Outcome[S]:
        """The aggregate's current state, caught up with the log."""
        return await self._outcome(self._enqueue(aggregate_id, None, None))

    async def view(self, aggregate_id: str) -> Outcome[S]:
        """The state as this node's actor holds it (loaded if the actor was idle): no
        round trip to the log when it is warm. It misses only what another node wrote
        since; a command decided on it is still checked by the append."""
        return await self._outcome(self._enqueue(aggregate_id, None, None, catch_up=False))

    async def stop(self) -> None:
        actors = list(self._actors.values())
        self._actors.clear()
        for actor in actors:
            actor.task.cancel()
        await asyncio.gather(*(a.task for a in actors), return_exceptions=True)
