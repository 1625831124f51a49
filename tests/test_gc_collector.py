"""The garbage collector policy for calls (speech.collector): while voice sessions are
live, what exists is frozen, so no full pass walks it; a stopped session leaves no
reference cycles behind (frozen, they would never be freed); what did freeze and
become garbage is reclaimed once no voice session is left."""

from __future__ import annotations

import asyncio
import gc
import weakref

from speech.collector import COLLECTOR, CallTimeCollector
from speech.session import SpeechSession
from tests.bare_session import bare_session


def processors_of(session: SpeechSession) -> list[weakref.ref]:
    found, stack = [], [session.worker.pipeline]
    while stack:
        processor = stack.pop()
        found.append(weakref.ref(processor))
        stack.extend(p for p in processor.processors if p is not processor)
    return found


async def test_a_stopped_speech_session_is_freed_by_reference_counting_alone():
    session = bare_session()
    COLLECTOR.session_started()  # another call stays live: no reclaiming pass when this one stops
    try:
        await session.start()
        await session.feed(bytes(640))
        processors = processors_of(session)
        assert len(processors) > 10
        gc.disable()  # nothing but reference counting from here
        try:
            await session.stop()
            await session.feed(bytes(640))  # a stopped session takes audio and does nothing
            del session
            alive = [ref() for ref in processors if ref() is not None]
        finally:
            gc.enable()
        assert alive == []
    finally:
        COLLECTOR.session_stopped()


class Cyclic:
    def __init__(self) -> None:
        self.me = self


async def frozen_garbage(collector: CallTimeCollector, calls: int) -> weakref.ref:
    """``calls`` sessions started, and a reference cycle dropped and then frozen."""
    for _ in range(calls):
        collector.session_started()
    garbage = Cyclic()
    alive = weakref.ref(garbage)
    del garbage
    async with asyncio.timeout(5):
        await collector.frozen.wait()
    return alive


async def test_frozen_garbage_is_reclaimed_once_no_voice_session_is_left():
    collector = CallTimeCollector(every_s=0.01)
    alive = await frozen_garbage(collector, calls=2)
    gc.collect()
    assert alive() is not None  # frozen: no pass sees it while calls are live
    collector.session_stopped()
    assert alive() is not None  # one call is still live
    collector.session_stopped()
    assert alive() is None  # the last one stopped: reclaimed


async def test_a_node_never_without_calls_reclaims_every_so_many_calls():
    collector = CallTimeCollector(every_s=0.01, reclaim_after=2)
    alive = await frozen_garbage(collector, calls=3)
    collector.session_stopped()
    assert alive() is not None
    collector.session_stopped()  # the second call since: reclaimed, one call still live
    assert alive() is None and collector.live == 1
    collector.session_stopped()
