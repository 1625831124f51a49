"""The actor runtime against a real JetStream: mailbox, retries, passivation."""

from __future__ import annotations

import asyncio

import nats
import pytest

from actors.deciders import number, pipe
from actors.errors import Conflict, NotFound
from actors.event_store import EventStore
from actors.host import ActorHost
from bus_contracts import commands as c
from bus_contracts.events import PipeConfig

P = "prj_a"
CFG = PipeConfig(name="Support", agent_id="bot")


async def test_commands_to_one_actor_are_serialised(store: EventStore):
    host = ActorHost(store, pipe.DECIDER)
    await host.execute("pipe_1", c.CreatePipe(project_id=P, config=CFG))
    outs = await asyncio.gather(*(host.execute("pipe_1", c.UpdatePipe(project_id=P, name=f"n{i}")) for i in range(50)))
    assert [o.state.config.name for o in outs] == [f"n{i}" for i in range(50)]
    assert (await store.load(pipe.DECIDER, "pipe_1")).state.config.name == "n49"
    await host.stop()


async def test_refusal_is_raised_to_the_caller(store: EventStore):
    host = ActorHost(store, pipe.DECIDER)
    with pytest.raises(NotFound):
        await host.execute("pipe_x", c.UpdatePipe(project_id=P, name="x"))
    await host.stop()


async def test_an_idle_actor_pins_no_finished_job(store: EventStore):
    """A refused job carries a traceback whose frames reach the caller's connection;
    an actor waiting for its next command must not hold it (or any job), else it all
    ages into the oldest generation and costs every full collection."""
    host = ActorHost(store, pipe.DECIDER)
    await host.execute("pipe_1", c.CreatePipe(project_id=P, config=CFG))
    with pytest.raises(Conflict):
        await host.execute("pipe_1", c.CreatePipe(project_id=P, config=PipeConfig(name="Other", agent_id="bot")))
    idle = host._actors["pipe_1"].task.get_coro().cr_frame.f_locals
    assert idle.get("job") is None and idle.get("outcome") is None
    await host.stop()


@pytest.fixture
async def two_nodes(nats_url):
    """Two number hosts on separate connections: two API nodes sharing one NATS."""
    conns = [await nats.connect(nats_url) for _ in range(2)]
    stores = [EventStore(conn) for conn in conns]
    for s in stores:
        await s.start()
    hosts = [ActorHost(s, number.DECIDER) for s in stores]
    yield hosts
    for h in hosts:
        await h.stop()
    for s in stores:
        await s.stop()
    for conn in conns:
        await conn.close()


async def test_two_nodes_racing_for_one_number_one_attach_wins(two_nodes, store: EventStore):
    a, b = two_nodes
    await a.execute("num_1", c.AddNumber(project_id=P, number="+14155550100", source="byon"))
    await b.read("num_1")  # b caches the state too
    results = await asyncio.gather(
        a.execute("num_1", c.AttachNumber(project_id=P, pipe_id="pipe_a")),
        b.execute("num_1", c.AttachNumber(project_id=P, pipe_id="pipe_b")),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1 and sum(isinstance(r, Conflict) for r in results) == 1
    final = await store.load(number.DECIDER, "num_1")
    assert final.state.pipe_id == wins[0].state.pipe_id


async def test_stale_cache_is_not_trusted_for_a_noop(two_nodes, store: EventStore):
    """Node A cached 'attached to pipe_a'; node B detached it. A must not answer
    'already attached' to a new attach request: it re-checks and writes."""
    a, b = two_nodes
    await a.execute("num_1", c.AddNumber(project_id=P, number="+14155550100", source="byon"))
    await a.execute("num_1", c.AttachNumber(project_id=P, pipe_id="pipe_a"))
    await b.execute("num_1", c.DetachNumber(project_id=P))
    out = await a.execute("num_1", c.AttachNumber(project_id=P, pipe_id="pipe_a"))
    assert out.changed and out.state.pipe_id == "pipe_a"
    assert (await store.load(number.DECIDER, "num_1")).state.pipe_id == "pipe_a"


async def test_stale_cache_is_not_trusted_for_a_refusal(two_nodes, store: EventStore):
    a, b = two_nodes
    await a.execute("num_1", c.AddNumber(project_id=P, number="+14155550100", source="byon"))
    await a.execute("num_1", c.AttachNumber(project_id=P, pipe_id="pipe_a"))
    await b.execute("num_1", c.DetachNumber(project_id=P))
    out = await a.execute("num_1", c.AttachNumber(project_id=P, pipe_id="pipe_b"))  # A's cache says taken
    assert out.state.pipe_id == "pipe_b"


async def test_idle_actors_passivate_and_rehydrate(store: EventStore):
    host = ActorHost(store, pipe.DECIDER, idle_timeout=0.05)
    await host.execute("pipe_1", c.CreatePipe(project_id=P, config=CFG))
    assert host.active == 1
    actor_task = host._actors["pipe_1"].task
    await asyncio.wait_for(actor_task, 2)  # the actor ends itself once idle
    assert host.active == 0
    out = await host.execute("pipe_1", c.UpdatePipe(project_id=P, name="again"))
    assert out.state.config.name == "again" and out.changed
    await host.stop()


async def test_create_skips_the_load_but_an_id_already_used_still_conflicts(store: EventStore):
    first, second = ActorHost(store, pipe.DECIDER), ActorHost(store, pipe.DECIDER)
    created = await first.create("pipe_new", c.CreatePipe(project_id=P, config=CFG))
    assert created.version > 0 and created.state.config.name == "Support"
    # Another host believes the id is fresh: the append's expectation (an empty
    # subject) fails, it reloads, and the command is decided on the real state.
    with pytest.raises(Conflict):
        await second.create("pipe_new", c.CreatePipe(project_id=P, config=PipeConfig(name="Other", agent_id="bot")))
    assert (await store.load(pipe.DECIDER, "pipe_new")).state.config.name == "Support"
    await first.stop()
    await second.stop()


async def test_view_answers_from_the_actor_without_catching_up(store: EventStore):
    mine, other = ActorHost(store, pipe.DECIDER), ActorHost(store, pipe.DECIDER)
    await mine.execute("pipe_v", c.CreatePipe(project_id=P, config=CFG))
    await other.execute("pipe_v", c.UpdatePipe(project_id=P, name="renamed elsewhere"))
    assert (await mine.view("pipe_v")).state.config.name == "Support"  # its own view
    assert (await mine.read("pipe_v")).state.config.name == "renamed elsewhere"  # caught up
    await mine.stop()
    await other.stop()
