"""A whole text conversation: client (door 1) -> dispatch -> runner (door 2) -> bridge (door 3)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from websockets.asyncio.client import connect

from actors.call_session import CallSession
from bus_contracts import calls as k
from bus_contracts import frames as f
from bus_contracts.ids import new_call_id
from tests.conftest import eventually
from tests.raw_runner import EchoBridge, RawRunner, bridging
from unpod import AsyncClient


class Client:
    """Door 1 from the caller's side: JSON frames by type, and (in voice mode) the bot's audio."""

    def __init__(self, ws):
        self.ws = ws
        #: JSON frames received while waiting for audio, not yet taken by next().
        self.unread: list[dict] = []
        #: Bot audio received, not yet taken by audio_until_quiet().
        self.heard = bytearray()

    async def receive_one(self) -> None:
        message = await self.ws.recv()
        if isinstance(message, bytes):
            self.heard.extend(message)
        else:
            self.unread.append(json.loads(message))

    async def next(self, kind: str, timeout: float = 5.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                while self.unread:
                    frame = self.unread.pop(0)
                    if frame.get("type") == kind:
                        return frame
                await self.receive_one()

    async def audio_until_quiet(self, quiet_s: float = 1.0, timeout: float = 30.0) -> bytes:
        """The bot's audio until none has come for ``quiet_s`` (it is paced in real time),
        waiting up to ``timeout`` for the first of it."""
        async with asyncio.timeout(timeout):
            while not self.heard:
                await self.receive_one()
        while True:
            before = len(self.heard)
            try:
                async with asyncio.timeout(quiet_s):
                    while len(self.heard) == before:
                        await self.receive_one()
            except TimeoutError:
                break
        audio, self.heard = bytes(self.heard), bytearray()
        return audio

    async def state(self, state: str) -> None:
        while (await self.next("state"))["state"] != state:
            pass

    async def say(self, text: str) -> None:
        await self.ws.send(json.dumps({"type": "user.text", "text": text}))


async def setup(stack, runner_kwargs=None):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="Echo", agent_id="bot")
        token = await c.sessions.create_token(pipe.pipe_id, metadata={"user_id": "u1"})
    bridges: list[EchoBridge] = []
    kwargs = dict(runner_kwargs or {})
    capacity = kwargs.pop("capacity", 2)
    runner = RawRunner(stack.ws_url, stack.api_key, answer=bridging(bridges, **kwargs), capacity=capacity)
    await runner.start()

    async def on_board():
        return stack.node.board.entries

    await eventually(on_board)
    return pipe, token, runner, bridges


async def test_a_text_conversation_end_to_end(stack):
    pipe, token, runner, bridges = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        started = await client.next("session.started")
        call_id = started["call_id"]
        await client.state("listening")  # the runner's bridge is up
        await client.say("hello there")
        assert (await client.next("user.turn")) == {"type": "user.turn", "turn": 1, "text": "hello there"}
        reply = await client.next("agent.reply")
        timings = reply.pop("timings")
        assert reply == {"type": "agent.reply", "turn": 1, "text": "echo: hello there"}
        assert 0 < timings["agent_ttft_ms"] <= timings["agent_total_ms"]
        await client.say("second")
        assert (await client.next("agent.reply"))["text"] == "echo: second"

        bridge = bridges[0]
        assert bridge.hello_ack["call_id"] == call_id and bridge.hello_ack["protocol_version"] == 2
        meta = bridge.call_started["metadata"]
        assert meta["data"] == {"user_id": "u1"} and meta["direction"] == "web"
        assert bridge.call_started["session_id"] == call_id  # the published SDK's ctx.call_id
        await ws.send(json.dumps({"type": "hangup"}))
        assert (await client.next("session.ended"))["reason"] == "hangup"

    async def ended():
        return (await stack.node.calls.read(call_id)).state.phase == "ended"

    await eventually(ended)
    records = await stack.node.store.read_subject("call", call_id)
    assert [r.envelope.type for r in records] == [
        "call.requested", "call.runner_assigned", "call.runner_accepted", "call.bridge_connected",
        "call.user_spoke", "call.agent_replied", "call.user_spoke", "call.agent_replied", "call.ended",
    ]  # fmt: skip
    replies = [r.event for r in records if r.envelope.type == "call.agent_replied"]
    assert [(e.turn, e.text) for e in replies] == [(1, "echo: hello there"), (2, "echo: second")]
    assert replies[0].timings.agent_ttft_ms == timings["agent_ttft_ms"]
    assert all(0 < e.timings.agent_ttft_ms <= e.timings.agent_total_ms for e in replies)
    assert await bridges[0].wait_closed() == 1000
    # After each answered turn the runner hears its timings and the call's running figures.
    measured = [m for m in bridges[0].received if m["event"] == "turn.metrics"]
    assert [(m["call_id"], m["turn_id"], m["llm_call_count"]) for m in measured] == [(call_id, 1, 1), (call_id, 2, 1)]
    assert [m["llm_total_ms"] for m in measured] == [e.timings.agent_total_ms for e in replies]
    assert measured[0]["asr_ms"] is None and measured[0]["tts_ttfb_ms"] is None  # no speech on this call
    running = [m for m in bridges[0].received if m["event"] == "metric"]
    assert [(m["turns"], type(m["ttfa_ms"])) for m in running] == [(1, int), (2, int)]
    await runner.stop()


async def test_say_speaks_but_sentinels_are_controls(stack):
    pipe, token, runner, bridges = await setup(
        stack,
        {
            "say_first": [
                "__filler:One moment please",
                "Hello, how can I help?",
                "__recording_pause:pii",
                "__recording_resume",
            ]
        },
    )
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        said = await client.next("agent.say")
        assert said["text"] == "Hello, how can I help?"
        session = stack.node.sessions[call_id]
        await client.say("hi")
        await client.next("agent.reply")
        assert session.filler == "One moment please" and session.recording_paused is False
    records = await stack.node.store.read_subject("call", call_id)
    assert [r.event.text for r in records if r.envelope.type == "call.agent_said"] == ["Hello, how can I help?"]
    await runner.stop()


async def test_session_tokens_are_single_use_and_scoped(stack):
    pipe, token, runner, _ = await setup(stack)
    url = f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}"
    async with connect(url) as first:
        await Client(first).next("session.started")
        async with connect(url) as second:  # reuse
            await asyncio.wait_for(second.wait_closed(), 5)
        assert second.close_code == 4003
    for bad in ("", "st_nope", "x" * 100):
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={bad}") as ws:
            await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 4003
    # A token works only on the pipe it was issued for.
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        other = await c.pipes.create(name="Other", agent_id="bot")
        fresh = await c.sessions.create_token(pipe.pipe_id)
    async with connect(f"{stack.ws_url}/v1/pipes/{other.pipe_id}/connect?token={fresh.token}") as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 4003
    await runner.stop()


async def test_expired_session_token_is_refused(stack):
    pipe, _, runner, _ = await setup(stack)
    stack.node.session_tokens.ttl_s = -1  # issued already expired
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        token = await c.sessions.create_token(pipe.pipe_id)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 4003
    await runner.stop()


async def test_another_projects_key_cannot_issue_tokens_for_a_pipe(stack):
    from api.bootstrap import create_project_with_key

    other = await create_project_with_key(stack.node, "other")
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as mine:
        pipe = await mine.pipes.create(name="Mine", agent_id="bot")
    async with stack.http(api_key=other.api_key) as http:
        r = await http.post("/v1/sessions/token", json={"pipe_id": pipe.pipe_id})
    assert r.status_code == 422 and "not found" in r.json()["message"]


@pytest.mark.parametrize("problem", ["bad_token", "second_bridge", "no_hello"])
async def test_bridge_refusals(stack, problem):
    pipe, token, runner, bridges = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        await client.next("session.started")

        async def bridged():
            return bridges and bridges[0].call_started

        await eventually(bridged)
        assign = bridges[0].assign
        url = assign["bridge_url"]
        if problem == "bad_token":
            target, expected = f"{url}?token=1.x.y", 4003
        elif problem == "second_bridge":
            target, expected = f"{url}?token={assign['call_token']}", 4009
        else:
            target, expected = None, 4400
        if target:
            async with connect(target) as extra:
                await asyncio.wait_for(extra.wait_closed(), 5)
            assert extra.close_code == expected
        else:
            bridges[0].crash()  # the bridge drops; within the redial grace, dial again without hello
            async with connect(f"{url}?token={assign['call_token']}") as extra:
                await extra.send(json.dumps({"event": "agent.say", "text": "skipping hello"}))
                await asyncio.wait_for(extra.wait_closed(), 5)
            assert extra.close_code == expected
        # The conversation itself is unharmed where the bridge is still up.
        if problem != "no_hello":
            await client.say("still there?")
            assert (await client.next("agent.reply"))["text"] == "echo: still there?"
    await runner.stop()


async def test_text_sent_before_the_runner_arrives_is_delivered_once_it_does(stack):
    pipe, token, runner, _ = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        await client.next("session.started")
        await client.say("early bird")  # before dispatch has finished
        assert (await client.next("agent.reply"))["text"] == "echo: early bird"
    await runner.stop()


async def test_an_ended_call_frees_its_runner_slot(stack):
    """With capacity 1, a second conversation can only happen if the first one's slot came back."""
    pipe, _, runner, _ = await setup(stack, {"capacity": 1})
    for round_no in range(3):
        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            token = await c.sessions.create_token(pipe.pipe_id)
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
            client = Client(ws)
            await client.say(f"round {round_no}")
            assert (await client.next("agent.reply"))["text"] == f"echo: round {round_no}"
            await ws.send(json.dumps({"type": "hangup"}))
            await client.next("session.ended")

        async def slot_free():
            link = stack.node.local_runners.links[runner.worker_id]
            return link.slots.load == 0

        await eventually(slot_free)
    await runner.stop()


async def test_a_draining_node_finishes_live_calls_and_refuses_new_ones(stack):
    pipe, token, runner, _ = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        await client.state("listening")
        drain = asyncio.create_task(stack.node.drain(timeout_s=10))
        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            late = await c.sessions.create_token(pipe.pipe_id)

        async def draining():
            return stack.node.draining

        await eventually(draining)
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={late.token}") as refused:
            await asyncio.wait_for(refused.wait_closed(), 5)
        assert refused.close_code == 1013
        await client.say("still served")  # the live call goes on while draining
        assert (await client.next("agent.reply"))["text"] == "echo: still served"
        await ws.send(json.dumps({"type": "hangup"}))
        await client.next("session.ended")
    assert await asyncio.wait_for(drain, 10) == 0  # nothing had to be cut off
    await runner.stop()


async def test_drain_deadline_ends_remaining_calls_and_tells_the_client(stack):
    pipe, token, runner, _ = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        assert await stack.node.drain(timeout_s=0.2) == 1
        assert (await client.next("session.ended"))["reason"] == "node_shutdown"
    state = (await stack.node.calls.read(call_id)).state
    assert state.phase == "ended" and state.ended.reason == "node_shutdown"
    await runner.stop()


async def test_the_caller_hears_of_its_turn_before_the_reply_and_the_log_keeps_turn_order(stack):
    """The runner gets a turn while it is being appended; neither the caller nor the log may see that."""
    pipe, token, runner, bridges = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        for i in range(1, 21):
            await client.say(f"turn {i}")
            seen = []
            async with asyncio.timeout(5):
                while not seen or seen[-1] != "agent.reply":
                    frame = json.loads(await ws.recv())
                    if frame["type"] in ("user.turn", "agent.delta", "agent.reply"):
                        assert frame["turn"] == i, frame
                        seen.append(frame["type"])
            assert seen[0] == "user.turn" and seen[-1] == "agent.reply", seen
        await ws.send(json.dumps({"type": "hangup"}))
    records = await stack.node.store.read_subject("call", call_id)
    turns = [
        (r.envelope.type, r.event.turn) for r in records if r.envelope.type in ("call.user_spoke", "call.agent_replied")
    ]
    assert turns == [(kind, i) for i in range(1, 21) for kind in ("call.user_spoke", "call.agent_replied")]
    await runner.stop()


async def test_a_repeated_end_call_and_late_verbs_change_nothing(stack):
    """Verbs that reach an ended call (a second hang-up, a late reply) are ignored:
    the call ends once, with one end request on record, and nothing is raised."""
    pipe, token, runner, bridges = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        session = stack.node.sessions[call_id]
        await bridges[0].send({"event": "agent.end_call", "reason": "done"})
        assert (await client.next("session.ended"))["reason"] == "completed"
        assert await bridges[0].wait_closed() == 1000
    for late in (f.AgentEndCall(reason="again"), f.AgentTextDelta(text="late"), f.AgentTextEnd(), f.AgentSay(text="x")):
        await session.verb(late)  # as if still buffered on the bridge when it closed
    async with stack.http() as http:

        async def projected():
            kinds = [e["type"] for e in (await http.get(f"/v1/calls/{call_id}/events")).json()["data"]]
            return kinds if kinds[-1] == "call.ended" else None

        kinds = await eventually(projected)
    assert kinds.count("call.end_requested") == 1
    assert "call.agent_replied" not in kinds and "call.agent_said" not in kinds
    await runner.stop()


async def test_the_server_sends_small_frames_at_once(stack):
    """Every connection the API accepts has Nagle off: with it on, a small frame
    written behind another waited for the peer's delayed ACK (40 ms a turn)."""
    pipe, token, runner, _ = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        await Client(ws).state("listening")  # a client socket and a bridge socket are open
        connections = stack.server._server.server_state.connections
        assert len(connections) >= 3  # the control socket, the bridge, door 1
        for protocol in connections:
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    await runner.stop()


async def test_a_call_ends_when_the_pipes_time_limit_is_up(stack):
    """The call ends with reason max_duration when its limit runs out (1 s here; pipes
    allow 10 s and up), the client is told why and the runner's session closes."""
    _, _, runner, bridges = await setup(stack)
    call_id = new_call_id()
    requested = await stack.node.calls.create(
        call_id,
        k.RequestCall(project_id=stack.project_id, pipe_id="pipe_1", session_id=call_id, direction="web",
                      agent_id="bot", max_duration_s=1, node_id=stack.node.node_id),
    )  # fmt: skip
    told: list[dict] = []
    ended = asyncio.Event()

    async def to_client(frame: dict) -> None:
        told.append(frame)

    async def on_end(session, reason) -> None:
        stack.node.session_ended(session.call_id)
        ended.set()

    session = CallSession(call_id, requested.state.request, stack.node.calls, stack.node.dispatcher, to_client, on_end)
    stack.node.sessions[call_id] = session
    session.start()
    await asyncio.wait_for(ended.wait(), 10)
    assert told[-1] == {"type": "session.ended", "reason": "max_duration"}
    assert await bridges[0].wait_closed() == 1000
    last = (await stack.node.store.read_subject("call", call_id))[-1]
    assert (last.envelope.type, last.event.reason) == ("call.ended", "max_duration")
    await runner.stop()
