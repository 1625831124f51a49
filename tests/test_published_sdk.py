"""The published `unpod` SDK (0.5.0, Python 3.12, from PyPI) runs its AgentRunner
against our server unchanged and holds a whole text conversation.

The runner is docs/published-sdk-echo-runner.py: only the SDK's public API. It
runs in its own venv (.venv-published, built by deploy/test.sh) and from a
folder outside the repo, where our own `unpod` package cannot shadow the
published one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.conftest import eventually
from unpod import AsyncClient

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED_PYTHON = ROOT / ".venv-published" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    not PUBLISHED_PYTHON.exists(), reason="no Python 3.12 here: .venv-published (built by deploy/test.sh) is absent"
)


class PublishedRunner:
    """One process of docs/published-sdk-echo-runner.py on the published SDK."""

    def __init__(self, stack, folder: Path) -> None:
        self.stack = stack
        self.folder = folder
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = folder / "runner.log"

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        script = self.folder / "runner.py"
        shutil.copy(ROOT / "docs" / "published-sdk-echo-runner.py", script)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UNPOD_", "PYTHON"))}
        env.update(
            UNPOD_ORCHESTRATOR_URL=self.stack.ws_url,
            UNPOD_PLATFORM_TOKEN=self.stack.api_key,  # sent as "Authorization: Token <key>"
            UNPOD_ORG_HANDLE=self.stack.project_id,
            UNPOD_AGENT_ID="echo-agent",
        )
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = await asyncio.create_subprocess_exec(
                str(PUBLISHED_PYTHON),
                str(script),
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def worker_id(self) -> str | None:
        m = re.search(r"runner starting worker_id=(\S+)", self.log)
        return m.group(1) if m else None

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start_runners(stack, tmp_path, n: int) -> list[PublishedRunner]:
    runners = [PublishedRunner(stack, tmp_path / f"runner{i}") for i in range(n)]
    for r in runners:
        await r.start()

    async def registered():
        return sum(e.agent_id == "echo-agent" for e in stack.node.board.entries.values()) == n

    await eventually(registered, timeout=20)
    return runners


@pytest.fixture
async def published_runner(stack, tmp_path):
    runners = await start_runners(stack, tmp_path, 1)
    yield runners[0]
    await runners[0].stop()


async def test_published_agent_runner_holds_a_text_conversation(stack, published_runner, tmp_path):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="Echo", agent_id="echo-agent")
        token = await c.sessions.create_token(pipe.pipe_id, metadata={"user_id": "u1"})
    frames: list[dict] = []
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:

        async def until(kind: str) -> dict:
            async with asyncio.timeout(15):
                while True:
                    frame = json.loads(await ws.recv())
                    frames.append(frame)
                    if frame.get("type") == kind:
                        return frame

        call_id = (await until("session.started"))["call_id"]
        assert (await until("agent.say"))["text"] == "Hello! I will repeat whatever you say."
        await ws.send(json.dumps({"type": "user.text", "text": "hello from the test"}))
        assert (await until("agent.reply"))["text"] == "You said: hello from the test"
        await ws.send(json.dumps({"type": "user.text", "text": "bye"}))
        assert (await until("agent.reply"))["text"] == "Goodbye!"
        assert (await until("session.ended"))["reason"] == "completed"
    assert len([f for f in frames if f["type"] == "agent.delta"]) > 2  # streamed, not one blob

    records = await stack.node.store.read_subject("call", call_id)
    types = [r.envelope.type for r in records]
    assert types[:4] == ["call.requested", "call.runner_assigned", "call.runner_accepted", "call.bridge_connected"]
    assert types.count("call.user_spoke") == 2 and types.count("call.agent_replied") == 2
    assert types[-2:] == ["call.end_requested", "call.ended"]
    log = published_runner.log
    # ctx.call_id and ctx.data as the SDK built them from call.started
    assert f"call {call_id} agent=echo-agent direction=web" in log and "'user_id': 'u1'" in log


async def test_sigkill_of_the_serving_runner_moves_the_conversation_on(stack, tmp_path):
    runners = await start_runners(stack, tmp_path, 2)
    try:
        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            pipe = await c.pipes.create(name="Echo", agent_id="echo-agent")
            token = await c.sessions.create_token(pipe.pipe_id)
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:

            async def until(kind: str, **match) -> dict:
                async with asyncio.timeout(15):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                            return frame

            call_id = (await until("session.started"))["call_id"]
            await until("state", state="listening")
            await ws.send(json.dumps({"type": "user.text", "text": "first question"}))
            assert (await until("agent.reply"))["text"] == "You said: first question"

            serving = next(r for r in runners if r.worker_id == stack.node.sessions[call_id].worker_id)
            survivor = next(r for r in runners if r is not serving)
            serving.proc.kill()  # SIGKILL: no goodbye on any socket
            await serving.proc.wait()

            await until("state", state="listening")  # on the survivor now
            await ws.send(json.dumps({"type": "user.text", "text": "second question"}))
            assert (await until("agent.reply"))["text"] == "You said: second question"
        assert stack.node.sessions.get(call_id) is None or stack.node.sessions[call_id].ended
        assert f"call {call_id}" in survivor.log  # its entrypoint ran for the same call
        types = [r.envelope.type for r in await stack.node.store.read_subject("call", call_id)]
        assert "call.runner_lost" in types and types.count("call.bridge_connected") == 2
    finally:
        for r in runners:
            await r.stop()
