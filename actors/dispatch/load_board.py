"""The cluster-wide view of runner load: one NATS KV entry per runner.

The node holding a runner's control socket writes its entry (capacity, load,
draining) when it changes and on every heartbeat; every node watches the bucket
into memory, so the dispatcher picks candidates without a round trip. The board
is a hint: the owner node has the final say when it reserves a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import msgspec
import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType

from bus_contracts.ids import runner_aggregate_id

log = logging.getLogger(__name__)
BUCKET = "unpod_runner_load"


class RunnerLoad(msgspec.Struct, frozen=True, kw_only=True):
    worker_id: str
    project_id: str
    agent_id: str
    pool: str
    node_id: str
    capacity: int
    load: int
    draining: bool = False
    #: The runner refused an offer as at capacity (see RunnerSlots.says_full).
    says_full: bool = False
    #: Wall-clock seconds; entries not refreshed for ``stale_after_s`` are ignored.
    updated_at: float

    @property
    def free(self) -> int:
        return 0 if self.draining or self.says_full else max(0, self.capacity - self.load)


_decoder = msgspec.json.Decoder(RunnerLoad)
_encoder = msgspec.json.Encoder()


class LoadBoard:
    def __init__(self, js, *, stale_after_s: float = 30.0, replicas: int = 1) -> None:
        self._js = js
        self._kv = None
        self.stale_after_s = stale_after_s
        self._replicas = replicas
        self.entries: dict[str, RunnerLoad] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[RunnerLoad | None, str], None]] = []

    async def start(self) -> None:
        self._kv = await self._js.create_key_value(
            KeyValueConfig(bucket=BUCKET, history=1, storage=StorageType.MEMORY, replicas=self._replicas)
        )
        ready = asyncio.Event()
        self._watch_task = asyncio.create_task(self._watch(ready), name="load-board-watch")
        await asyncio.wait_for(ready.wait(), 10)

    async def stop(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task

    def on_change(self, listener: Callable[[RunnerLoad | None, str], None]) -> None:
        """``listener(entry_or_None, key)`` after every change seen (a freed slot wakes queued calls)."""
        self._listeners.append(listener)

    async def _watch(self, ready: asyncio.Event) -> None:
        backoff = 0.1
        while True:
            try:
                watcher = await self._kv.watchall()
                async for entry in watcher:
                    if entry is None:  # end of the initial values
                        ready.set()
                        continue
                    if entry.operation in ("DEL", "PURGE") or not entry.value:
                        self.entries.pop(entry.key, None)
                        load = None
                    else:
                        load = _decoder.decode(entry.value)
                        self.entries[entry.key] = load
                    for listener in self._listeners:
                        listener(load, entry.key)
                    backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # watchers must be re-created after a reconnect
                log.warning("load board watch failed (%s); re-creating in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def publish(self, load: RunnerLoad) -> None:
        await self._kv.put(runner_aggregate_id(load.worker_id), _encoder.encode(load))

    async def remove(self, worker_id: str) -> None:
        with contextlib.suppress(nats.js.errors.KeyNotFoundError):
            await self._kv.delete(runner_aggregate_id(worker_id))

    def candidates(self, project_id: str, agent_id: str, exclude: tuple[str, ...] = ()) -> list[RunnerLoad]:
        """Runners of the pool with a free slot, least loaded first (by share of capacity used)."""
        now = time.time()
        found = [
            e
            for e in self.entries.values()
            if e.project_id == project_id
            and e.agent_id == agent_id
            and e.free > 0
            and e.worker_id not in exclude
            and now - e.updated_at < self.stale_after_s
        ]
        found.sort(key=lambda e: (e.load / e.capacity, -e.free, e.worker_id))
        return found
