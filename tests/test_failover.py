"""A runner dies mid-call: the call moves to another runner of the pool, which gets
the conversation so far; the client sees nothing but a short reconnect."""

from __future__ import annotations

import asyncio
import json
import time

from websockets.asyncio.client import connect

from tests.conftest import eventually
from tests.raw_runner import EchoBridge, RawRunner, bridging
from tests.test_conversation import Client
from unpod import AsyncClient


async def test_runner_crash_mid_call_moves_the_call_with_its_history(stack):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="Echo", agent_id="bot")
        token = await c.sessions.create_token(pipe.pipe_id)
    bridges: dict[str, list[EchoBridge]] = {}

    def runner():
        mine: list[EchoBridge] = []
        rr = RawRunner(stack.ws_url, stack.api_key, answer=bridging(mine))
        bridges[rr.worker_id] = mine
        return rr

    a, b = runner(), runner()
    await a.start()
    await b.start()

    async def both_on_board():
        return len(stack.node.board.entries) == 2

    await eventually(both_on_board)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        await client.say("hello")
        assert (await client.next("agent.reply"))["text"] == "echo: hello"

        serving_id = stack.node.sessions[call_id].worker_id
        serving, other = (a, b) if serving_id == a.worker_id else (b, a)
        crashed_at = time.monotonic()
        bridges[serving.worker_id][0].crash()
        serving.crash()

        await client.state("connecting")
        await client.state("listening")
        moved_in = time.monotonic() - crashed_at
        assert moved_in < 2.0, moved_in
        await client.say("are you still there")
        assert (await client.next("agent.reply"))["text"] == "echo: are you still there"

        fresh = bridges[other.worker_id][0]
        history = fresh.call_started["metadata"]["history"]
        assert history == [{"role": "user", "text": "hello"}, {"role": "agent", "text": "echo: hello"}]
        await ws.send(json.dumps({"type": "hangup"}))
        await client.next("session.ended")

    types = [r.envelope.type for r in await stack.node.store.read_subject("call", call_id)]
    lost = types.index("call.runner_lost")
    assert types[lost + 1 : lost + 4] == ["call.runner_assigned", "call.runner_accepted", "call.bridge_connected"]
    assert types.count("call.user_spoke") == 2 and types[-1] == "call.ended"
    await other.stop()


async def test_a_turn_the_lost_runner_never_answered_is_answered_by_the_next(stack):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="Echo", agent_id="bot")
        token = await c.sessions.create_token(pipe.pipe_id)
    doomed: list[EchoBridge] = []
    heirs: list[EchoBridge] = []

    first = RawRunner(stack.ws_url, stack.api_key, answer=bridging(doomed, mute=True))
    await first.start()

    async def on_board():
        return len(stack.node.board.entries) == 1

    await eventually(on_board)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        await client.state("listening")
        second = RawRunner(stack.ws_url, stack.api_key, answer=bridging(heirs))
        await second.start()
        await client.say("anyone there")
        await doomed[0].got_text.wait()  # taken, never answered
        doomed[0].crash()
        first.crash()
        reply = await client.next("agent.reply", timeout=10)
        assert (reply["turn"], reply["text"]) == (1, "echo: anyone there")
        await client.say("and now")
        reply = await client.next("agent.reply")
        assert (reply["turn"], reply["text"]) == (2, "echo: and now")  # replies keep their own turns
        heir = heirs[0]
        assert heir.call_started["metadata"]["history"] == []  # asked as a turn, not told as history
        assert [m["text"] for m in heir.received if m["event"] == "user.text"] == ["anyone there", "and now"]
        await ws.send(json.dumps({"type": "hangup"}))
        await client.next("session.ended")
    await second.stop()


async def test_a_bridge_that_drops_and_redials_in_time_keeps_its_call(stack):
    """A dropped bridge (no close frame) that the same runner dials again within the
    grace period is the same runner back: no loss is recorded, no one else is asked."""
    bridges: list[EchoBridge] = []
    only = RawRunner(stack.ws_url, stack.api_key, answer=bridging(bridges))
    await only.start()

    async def on_board():
        return len(stack.node.board.entries) == 1

    await eventually(on_board)
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="Echo", agent_id="bot")
        token = await c.sessions.create_token(pipe.pipe_id)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        session = stack.node.sessions[call_id]
        bridges[0].crash()

        async def dropped():
            return session.bridge_send is None

        await eventually(dropped)
        again = EchoBridge(bridges[0].assign)  # the same runner dials the same call again
        await again.start()
        await client.state("listening")
        await client.say("still me")
        assert (await client.next("agent.reply"))["text"] == "echo: still me"
        await asyncio.wait_for(session._recovery, 5)  # it gave up waiting: the bridge came back
        assert session.worker_id == only.worker_id
        await ws.send(json.dumps({"type": "hangup"}))
        await client.next("session.ended")
    kinds = [r.envelope.type for r in await stack.node.store.read_subject("call", call_id)]
    assert "call.runner_lost" not in kinds and kinds.count("call.runner_assigned") == 1
    await only.stop()
