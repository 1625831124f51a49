"""Keeping CPython's garbage collector from pausing calls.

A full collection walks every object the process tracks while holding it: at 50 calls
on a node, 110k objects, 80-110 ms, about once a minute, and every call's audio waits
(bench/audio.py showed one in each 50-session window). Its trigger counts the objects
that survive into the oldest generation, which a call's pipeline (1.5k objects) does.

While a node carries voice sessions, what exists is frozen once a second
(``gc.freeze``: no pass, it moves the collector's lists aside). The collector's passes
then walk only the last second's objects, and no full pass comes. Frozen objects are
still freed by reference counting; only reference cycles need the collector, so:

- a speech session breaks its own cycles when it stops (:func:`break_cycles`);
- what is left (about 210 objects a call, measured: the call's session, sockets) is
  reclaimed when the node has no voice session: unfrozen, one full pass, frozen
  again, no call's audio there to wait for it; and, on a node never without one,
  after every ``RECLAIM_AFTER`` calls: one full pass (over 100 ms) that often, rather
  than once a minute, and memory bounded.

Measured at 50 calls, 60 s windows, alternating: 0 late frames and no full pass in
2 runs with it; without it one full pass (67, 88 ms) and 9 and 46 late frames.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator

from pipecat.processors.frame_processor import FrameProcessor

log = logging.getLogger("unpod.speech")

FREEZE_EVERY_S = 1.0
RECLAIM_AFTER = 1000


class CallTimeCollector:
    """Counts the process's live voice sessions; freezes while there are any."""

    def __init__(self, every_s: float = FREEZE_EVERY_S, reclaim_after: int = RECLAIM_AFTER) -> None:
        self.every_s, self.reclaim_after = every_s, reclaim_after
        self.live = 0
        self._stopped_since_reclaim = 0
        self.frozen = asyncio.Event()  # set by each freeze: what a test waits for
        self._task: asyncio.Task[None] | None = None

    def session_started(self) -> None:
        self.live += 1
        if self._task is None or self._task.done():  # a test's loop may have closed under it
            self._task = asyncio.get_running_loop().create_task(self._freeze_periodically(), name="gc-freeze")

    def session_stopped(self) -> None:
        self.live = max(0, self.live - 1)
        self._stopped_since_reclaim += 1
        if self.live == 0:
            if self._task is not None:
                self._task.cancel()
                self._task = None
            self.reclaim()
        elif self._stopped_since_reclaim >= self.reclaim_after:
            self.reclaim()

    def reclaim(self) -> None:
        """Collect what froze and became garbage since, then freeze what is left."""
        self._stopped_since_reclaim = 0
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        log.debug("%d voice sessions live: reclaimed %d unreachable objects", self.live, found)

    async def _freeze_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            gc.freeze()
            self.frozen.set()


#: The process's one collector policy: the garbage collector is process-wide.
COLLECTOR = CallTimeCollector()


def break_cycles(*roots: object) -> None:
    """Empty ``roots`` and every Pipecat processor inside them, once they have stopped:
    processors link to each other both ways and hold their own bound methods, so a
    stopped pipeline is otherwise left for the collector, and frozen, never freed."""
    for obj in list(_processors(roots)):
        obj.__dict__.clear()


def _processors(roots: tuple[object, ...]) -> Iterator[object]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, FrameProcessor):
            stack.extend(obj.processors)
