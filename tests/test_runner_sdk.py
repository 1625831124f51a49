"""Our AgentRunner SDK: the seed samples as written, a conversation with hooks and
metrics, stats, and a SIGTERM drain that loses no call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from runner.session import Session
from tests.conftest import eventually
from tests.test_conversation import Client
from unpod import AgentRunner, AsyncClient, CallContext

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).parent / "seed_samples"


async def open_call(stack, agent_id: str, metadata=None):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipes = [p for p in await c.pipes.list() if p.agent_id == agent_id]
        pipe = pipes[0] if pipes else await c.pipes.create(name=agent_id, agent_id=agent_id)
        token = await c.sessions.create_token(pipe.pipe_id, metadata=metadata or {})
    ws = await connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}")
    return ws, Client(ws)


@contextlib.asynccontextmanager
async def serving(stack, entrypoint, agent_id: str, **kwargs):
    """An AgentRunner (our SDK) of ``entrypoint`` on the board of ``stack`` for the block."""
    runner = AgentRunner(entrypoint, agent_id=agent_id, api_key=stack.api_key, base_url=stack.url, **kwargs)
    task = asyncio.create_task(runner.run())
    try:
        await on_board(stack, agent_id)
        yield runner
    finally:
        await runner.shutdown()
        await task


async def on_board(stack, agent_id):
    async def registered():
        return any(e.agent_id == agent_id for e in stack.node.board.entries.values())

    await eventually(registered, timeout=15)


@pytest.mark.parametrize(("sample", "agent_id", "greeting"), [
    ("runner_000.py", "my-bot", "Hello, how can I help you?"),
    ("runner_004.py", "my-agent", "Hello, thanks for calling!"),
])  # fmt: skip
async def test_seed_runner_samples_run_as_written(stack, sample, agent_id, greeting):
    env = {**os.environ, "UNPOD_API_KEY": stack.api_key, "UNPOD_BASE_URL": stack.url, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SAMPLES / sample),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await on_board(stack, agent_id)
        ws, client = await open_call(stack, agent_id)
        assert (await client.next("agent.say"))["text"] == greeting
        await ws.send(json.dumps({"type": "hangup"}))
        await client.next("session.ended")
        await ws.close()
    finally:
        proc.send_signal(signal.SIGTERM)  # drains and exits cleanly
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, out.decode()[-3000:]


class Echo:
    model = "echo-1"
    last_usage: dict | None = None

    async def stream(self, text: str):
        words = f"You said {text}".split(" ")
        for word in words:
            yield word + " "
        self.last_usage = {"input_tokens": len(text.split()), "output_tokens": len(words), "cost_usd": 0.001}


async def test_a_conversation_with_hooks_metrics_stats_and_a_drain(stack):
    seen: dict[str, list] = {"user": [], "agent": [], "start": [], "end": [], "timed": [], "running": []}
    ended = asyncio.Event()
    finished_metrics = []

    async def handle(ctx: CallContext) -> None:
        assert ctx.direction == "web" and ctx.data == {"user_id": "u7"} and ctx.call_id.startswith("call_")
        ctx.session.dialog_machine = Echo()
        ctx.session.on("user_turn", lambda text: seen["user"].append(text))
        ctx.session.on("agent_turn", lambda text: seen["agent"].append(text))
        ctx.session.on("call_start", lambda: seen["start"].append(ctx.call_id))
        ctx.session.on("turn_metrics", lambda frame: seen["timed"].append(frame["turn_id"]))
        ctx.session.on("metric", lambda frame: seen["running"].append(frame["turns"]))

        @ctx.session.on("call_end")
        async def _end(outcome):
            seen["end"].append(outcome)
            finished_metrics.append(ctx.session.metrics.live())
            ended.set()

        await ctx.session.set_filler("One moment")
        await ctx.session.run()

    runner = AgentRunner(
        handle, agent_id="echo-bot", max_sessions=3, drain_timeout_s=10, api_key=stack.api_key, base_url=stack.url
    )
    runner_task = asyncio.create_task(runner.run())
    await on_board(stack, "echo-bot")
    ws, client = await open_call(stack, "echo-bot", {"user_id": "u7"})
    await client.state("listening")
    await client.say("hi there")
    assert (await client.next("agent.reply"))["text"] == "You said hi there "
    assert runner.stats().in_flight == 1

    # SIGTERM-equivalent mid-call: no new calls, this one goes on.
    drain = asyncio.create_task(runner.shutdown())
    ws2, client2 = await open_call(stack, "echo-bot")
    second = (await client2.next("session.started"))["call_id"]

    async def refused_while_draining():
        records = await stack.node.store.read_subject("call", second)
        return [r.event.reason for r in records if r.envelope.type == "call.runner_rejected"]

    assert (await eventually(refused_while_draining))[0] == "draining"
    assert runner.stats().in_flight == 1  # the draining runner took nothing new
    await ws2.close()
    await client.say("still here")
    assert (await client.next("agent.reply"))["text"] == "You said still here "
    await ws.send(json.dumps({"type": "hangup"}))
    await client.next("session.ended")
    await ws.close()
    await asyncio.wait_for(drain, 15)
    await asyncio.wait_for(runner_task, 15)

    await ended.wait()
    assert seen["user"] == ["hi there", "still here"] and seen["agent"] == [
        "You said hi there ",
        "You said still here ",
    ]
    assert seen["end"] == ["hangup"] and len(seen["start"]) == 1
    m = finished_metrics[0]
    assert m.turns == 2 and m.duration_s > 0 and m.active_llm == "echo-1" and m.llm_p95_ms >= 0
    assert seen["timed"] == [1, 2] and seen["running"] == [1, 2]  # the node's turn.metrics and metric frames
    assert (m.tokens.input, m.tokens.output, m.cost.llm) == (4, 8, 0.002)
    assert (m.stt_p95_ms, m.tts_p95_ms, m.cost.voice) == (0, 0, 0.0)  # a text call: no speech, offline prices
    s = runner.stats()
    assert (s.in_flight, s.capacity, s.completed_last_hour, s.failed_last_hour) == (0, 3, 1, 0)
    assert s.mean_call_duration_s > 0


async def test_stats_queued_follows_the_pools_real_queue(stack):
    from tests.raw_runner import RawRunner

    async def handle(ctx: CallContext) -> None:
        ctx.session.dialog_machine = Echo()
        await ctx.session.run()

    runner = AgentRunner(handle, agent_id="busy-bot", max_sessions=1, api_key=stack.api_key, base_url=stack.url)
    task = asyncio.create_task(runner.run())
    # A runner without the pool.status feature, as the published SDK: it must never get the frame.
    plain = RawRunner(
        stack.ws_url,
        stack.api_key,
        agent_id="busy-bot",
        capacity=1,
        answer=lambda _: {"accepted": False, "reason": "at_capacity"},
    )
    await plain.start()
    await on_board(stack, "busy-bot")
    ws1, c1 = await open_call(stack, "busy-bot")
    await c1.state("listening")  # our runner's only slot is taken
    ws2, _ = await open_call(stack, "busy-bot")

    async def one_queued():
        return runner.stats().queued == 1

    await eventually(one_queued)
    await ws2.close()  # the waiting caller gives up

    async def none_queued():
        return runner.stats().queued == 0

    await eventually(none_queued)
    assert not any(f.get("type") == "pool.status" for f in plain.other)
    await ws1.close()
    await plain.stop()
    await runner.shutdown()
    await asyncio.wait_for(task, 10)


class _Wire:
    """Collects what a Session sends (the bridge socket's send side)."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, raw: str) -> None:
        self.sent.append(json.loads(raw))


async def test_ending_twice_hangs_up_once():
    wire = _Wire()
    session = Session(wire, "call_x")
    await session.end("done")
    await session.end("again")
    assert wire.sent == [{"event": "agent.end_call", "reason": "done"}]


class SlowThenFast:
    """The first answer takes a while (a slow LLM); the next comes at once."""

    def __init__(self) -> None:
        self.turns = 0

    async def stream(self, text: str):
        self.turns += 1
        if self.turns == 1:
            await asyncio.sleep(1.0)
        yield f"answer {self.turns}"


async def test_the_filler_plays_only_when_the_agent_is_slow(stack):
    async def handle(ctx: CallContext) -> None:
        ctx.session.dialog_machine = SlowThenFast()
        await ctx.session.set_filler("One moment please")
        await ctx.session.run()

    async with serving(stack, handle, "slow-bot"):
        ws, client = await open_call(stack, "slow-bot")
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        stack.node.sessions[call_id].filler_after_s = 0.2
        for text in ("first", "second"):
            await client.say(text)
            seen = []
            while not seen or seen[-1]["type"] != "agent.reply":
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] in ("agent.filler", "agent.delta", "agent.reply"):
                    seen.append(frame)
            kinds = [f["type"] for f in seen]
            if text == "first":
                assert kinds == ["agent.filler", "agent.delta", "agent.reply"]
                assert seen[0]["text"] == "One moment please" and seen[0]["turn"] == 1  # the sentinel is not spoken
            else:
                assert kinds == ["agent.delta", "agent.reply"]  # a quick answer needs no filler
        await ws.close()


async def test_first_speaker_user_means_the_agent_does_not_open_the_call(stack):
    """On a pipe whose caller speaks first, a runner that greets at once is not heard
    until the caller has spoken; on the default pipe the greeting opens the call."""
    told: list[dict] = []

    async def agent(ctx: CallContext) -> None:
        told.append(ctx.first_speaker)
        await ctx.session.say("Hello, thanks for calling.")
        ctx.session.dialog_machine = Echo()
        await ctx.session.run()

    async with serving(stack, agent, "greeter"):
        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            quiet = await c.pipes.create(name="caller first", agent_id="greeter", first_speaker="user")
            token = await c.sessions.create_token(quiet.pipe_id)
        async with connect(f"{stack.ws_url}/v1/pipes/{quiet.pipe_id}/connect?token={token.token}") as ws:
            client = Client(ws)
            call_id = (await client.next("session.started"))["call_id"]
            await client.state("listening")
            await client.say("hi there")
            frames = []
            async with asyncio.timeout(10):
                while not frames or frames[-1]["type"] != "agent.reply":
                    frames.append(json.loads(await ws.recv()))
            assert "agent.say" not in [f["type"] for f in frames]  # the greeting was not said
            assert frames[-1]["text"].strip() == "You said hi there"
        records = await stack.node.store.read_subject("call", call_id)
        assert "call.agent_said" not in [r.envelope.type for r in records]
        assert told[0] == "user"

        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            default = await c.pipes.create(name="agent first", agent_id="greeter")  # the default: the agent opens
            token = await c.sessions.create_token(default.pipe_id)
        async with connect(f"{stack.ws_url}/v1/pipes/{default.pipe_id}/connect?token={token.token}") as ws:
            assert (await Client(ws).next("agent.say"))["text"] == "Hello, thanks for calling."
