"""PublishAcks against a real nats-server: answers, no responders, timeouts, stop."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest
from nats.js.api import StorageType, StreamConfig

from actors.publish_acks import PublishAcks


@pytest.fixture
async def acks(nc):
    a = PublishAcks(nc, timeout=0.3)
    await a.start()
    yield a
    await a.stop()


async def test_each_publish_gets_its_own_acknowledgement(nc, acks: PublishAcks):
    await nc.jetstream().add_stream(StreamConfig(name="T", subjects=["t.>"], storage=StorageType.MEMORY))
    replies = await asyncio.gather(*(acks.publish(f"t.{i}", b"x", {"Nats-Msg-Id": f"m{i}"}) for i in range(200)))
    seqs = sorted(int(r.split(b'"seq":')[1].split(b",")[0].rstrip(b"}")) for r in replies)
    assert seqs == list(range(1, 201))


async def test_no_stream_on_the_subject_is_no_responders(acks: PublishAcks):
    with pytest.raises(nats.errors.NoRespondersError):
        await acks.publish("nobody.listens", b"x", {"Nats-Msg-Id": "m"})


async def test_an_unanswered_publish_times_out_and_later_ones_still_work(nc, acks: PublishAcks):
    # A plain subscriber receives the message but never answers.
    silent = await nc.subscribe("silent.>")

    async def answer(msg):
        await msg.respond(b"ok")

    echo = await nc.subscribe("echo.>", cb=answer)
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(
        acks.publish("silent.a", b"x", {}),
        acks.publish("silent.b", b"x", {}),
        acks.publish("echo.a", b"x", {}),
        return_exceptions=True,
    )
    waited = loop.time() - started
    assert isinstance(results[0], nats.errors.TimeoutError)
    assert isinstance(results[1], nats.errors.TimeoutError)
    assert results[2] == b"ok"
    assert 0.3 <= waited < 1.0
    assert await acks.publish("echo.b", b"x", {}) == b"ok"
    assert acks._pending == {}
    await silent.unsubscribe()
    await echo.unsubscribe()


async def test_a_cancelled_publish_leaves_nothing_pending(nc, acks: PublishAcks):
    await nc.subscribe("silent.>")
    task = asyncio.create_task(acks.publish("silent.c", b"x", {}))
    await asyncio.sleep(0)  # one step: the task registers its token before its first await
    assert len(acks._pending) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert acks._pending == {}


async def test_stop_fails_what_is_pending(nc):
    acks = PublishAcks(nc, timeout=5)
    await acks.start()
    await nc.subscribe("silent.>")
    task = asyncio.create_task(acks.publish("silent.d", b"x", {}))
    await asyncio.sleep(0)  # one step: the task registers its token before its first await
    assert len(acks._pending) == 1
    await acks.stop()
    with pytest.raises(nats.errors.ConnectionClosedError):
        await task
    with pytest.raises(RuntimeError):
        await acks.publish("silent.e", b"x", {})
