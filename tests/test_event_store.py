"""Contract tests of the event store against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio

import nats
import pytest

from actors.deciders import pipe
from actors.errors import ConcurrencyError
from actors.event_store import EventStore
from bus_contracts import events as e
from bus_contracts.envelope import UnknownEvent, seal
from bus_contracts.events import PipeConfig

CONFIG = PipeConfig(name="support", agent_id="bot")


def created(pipe_id: str = "pipe_1"):
    return seal(e.PipeCreated(project_id="prj_1", config=CONFIG), aggregate_id=pipe_id, project_id="prj_1")


def renamed(name: str, pipe_id: str = "pipe_1"):
    return seal(e.PipeUpdated(name=name), aggregate_id=pipe_id, project_id="prj_1")


async def test_append_then_load_folds_the_subject(store: EventStore):
    r1 = await store.append([created()], expected=0)
    r2 = await store.append([renamed("sales")], expected=r1.last_seq)
    loaded = await store.load(pipe.DECIDER, "pipe_1")
    assert loaded.version == r2.last_seq
    assert loaded.events == 2
    assert loaded.state.config.name == "sales"
    assert loaded.state.project_id == "prj_1"


async def test_stale_writer_gets_concurrency_error(store: EventStore):
    r1 = await store.append([created()], expected=0)
    await store.append([renamed("a")], expected=r1.last_seq)
    with pytest.raises(ConcurrencyError) as info:
        await store.append([renamed("b")], expected=r1.last_seq)
    assert info.value.expected == r1.last_seq
    assert (await store.load(pipe.DECIDER, "pipe_1")).state.config.name == "a"


async def test_creating_an_existing_aggregate_conflicts(store: EventStore):
    await store.append([created()], expected=0)
    with pytest.raises(ConcurrencyError):
        await store.append([created()], expected=0)


async def test_republishing_the_same_event_id_is_a_noop(store: EventStore):
    env = created()
    first = await store.append([env], expected=0)
    again = await store.append([env], expected=0)
    assert again.duplicate and again.last_seq == first.last_seq
    records = await store.read_subject("pipe", "pipe_1")
    assert [r.envelope.event_id for r in records] == [env.event_id]


async def test_republishing_a_batch_is_a_noop(store: EventStore):
    batch = [created(), renamed("x"), renamed("y")]
    first = await store.append(batch, expected=0)
    again = await store.append(batch, expected=0)
    assert again.duplicate and again.last_seq == first.last_seq
    assert len(await store.read_subject("pipe", "pipe_1")) == 3


async def test_batch_is_all_or_nothing(store: EventStore):
    r = await store.append([created()], expected=0)
    await store.append([renamed("winner")], expected=r.last_seq)
    with pytest.raises(ConcurrencyError):
        await store.append([renamed("l1"), renamed("l2")], expected=r.last_seq)
    names = [
        rec.event.name for rec in await store.read_subject("pipe", "pipe_1") if isinstance(rec.event, e.PipeUpdated)
    ]
    assert names == ["winner"]


@pytest.mark.parametrize("writers", [8, 32])
async def test_concurrent_appenders_exactly_one_wins_per_sequence(nats_url, store: EventStore, writers: int):
    """N writers on separate connections race for the same position, round after round."""
    base = await store.append([created()], expected=0)
    conns = [await nats.connect(nats_url) for _ in range(writers)]
    stores = [EventStore(c) for c in conns]
    for s in stores:
        await s.start()
    try:
        expected = base.last_seq
        for round_no in range(5):
            envs = [renamed(f"r{round_no}w{i}") for i in range(writers)]
            results = await asyncio.gather(
                *(s.append([env], expected=expected) for s, env in zip(stores, envs, strict=True)),
                return_exceptions=True,
            )
            wins = [r for r in results if not isinstance(r, BaseException)]
            losses = [r for r in results if isinstance(r, BaseException)]
            assert len(wins) == 1, results
            assert all(isinstance(x, ConcurrencyError) for x in losses)
            expected = wins[0].last_seq
        records = await store.read_subject("pipe", "pipe_1")
        assert len(records) == 1 + 5
        assert records[-1].seq == expected
    finally:
        for s in stores:
            await s.stop()
        for c in conns:
            await c.close()


async def test_reload_equals_state_built_while_writing(store: EventStore):
    state = pipe.initial()
    version = 0
    for env in [created()] + [renamed(f"n{i}") for i in range(50)]:
        result = await store.append([env], expected=version)
        version = result.last_seq
    for rec in await store.read_subject("pipe", "pipe_1"):
        state = pipe.evolve(state, rec.event)
    loaded = await store.load(pipe.DECIDER, "pipe_1")
    assert loaded.state == state
    assert loaded.version == version


async def test_load_of_more_than_one_batch(store: EventStore):
    version = (await store.append([created()], expected=0)).last_seq
    for i in range(2500):
        version = (await store.append([renamed(f"n{i}")], expected=version)).last_seq
    loaded = await store.load(pipe.DECIDER, "pipe_1")
    assert loaded.events == 2501
    assert loaded.state.config.name == "n2499"


async def test_read_from_tails_every_aggregate_in_order(store: EventStore):
    await store.append([created("pipe_a")], expected=0)
    await store.append([created("pipe_b")], expected=0)
    records, remaining = await store.read_from(1)
    assert [r.envelope.aggregate_id for r in records] == ["pipe_a", "pipe_b"]
    assert remaining == 0
    later, _ = await store.read_from(records[-1].seq + 1)
    assert later == []


async def test_unknown_event_type_from_newer_writer_is_kept_not_fatal(store: EventStore, nc):
    await store.append([created()], expected=0)
    future = (
        b'{"event_id":"x1","aggregate":"pipe","aggregate_id":"pipe_1","type":"pipe.teleported",'
        b'"schema_version":3,"occurred_at":"2030-01-01T00:00:00Z","project_id":"prj_1","data":{"to":"mars"}}'
    )
    await nc.jetstream().publish("ev.pipe.pipe_1", future)
    # A known type written by a newer schema version, with a field we do not know.
    await nc.jetstream().publish(
        "ev.pipe.pipe_1",
        b'{"event_id":"x2","aggregate":"pipe","aggregate_id":"pipe_1","type":"pipe.updated","schema_version":2,'
        b'"occurred_at":"2030-01-01T00:00:00Z","project_id":"prj_1","data":{"name":"kept","colour":"blue"}}',
    )
    records = await store.read_subject("pipe", "pipe_1")
    assert isinstance(records[1].event, UnknownEvent) and records[1].event.type == "pipe.teleported"
    assert b"mars" in records[1].event.raw
    loaded = await store.load(pipe.DECIDER, "pipe_1")
    assert loaded.state.config.name == "kept"


async def test_tail_from_a_sequence_then_live(store: EventStore):
    for i in range(5):
        await store.append([created(f"pipe_{i}")], expected=0)
    seen: list[str] = []
    got_live = asyncio.Event()

    async def consume():
        async for batch in store.tail(3, batch_size=2, poll_interval=30):  # the poll never fires here
            seen.extend(r.envelope.aggregate_id for r in batch)
            if "pipe_live" in seen:
                got_live.set()
                return

    task = asyncio.create_task(consume())
    await store.append([created("pipe_live")], expected=0)
    await asyncio.wait_for(got_live.wait(), 5)  # woken by the append, not by polling
    await task
    assert seen == ["pipe_2", "pipe_3", "pipe_4", "pipe_live"]
