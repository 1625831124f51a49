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


@pytest.fixture
async def published_runner(stack, tmp_path):
    script = tmp_path / "runner.py"
    shutil.copy(ROOT / "docs" / "published-sdk-echo-runner.py", script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNPOD_", "PYTHON"))}
    env.update(
        UNPOD_ORCHESTRATOR_URL=stack.ws_url,
        UNPOD_PLATFORM_TOKEN=stack.api_key,  # sent as "Authorization: Token <key>"
        UNPOD_ORG_HANDLE=stack.project_id,
        UNPOD_AGENT_ID="echo-agent",
    )
    log = open(tmp_path / "runner.log", "wb")  # noqa: ASYNC230, SIM115 - a local file, closed below
    proc = await asyncio.create_subprocess_exec(
        str(PUBLISHED_PYTHON), str(script), cwd=tmp_path, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
    )

    async def registered():
        return any(e.agent_id == "echo-agent" for e in stack.node.board.entries.values())

    try:
        await eventually(registered, timeout=20)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
        log.close()


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
    log = (tmp_path / "runner.log").read_text()
    # ctx.call_id and ctx.data as the SDK built them from call.started
    assert f"call {call_id} agent=echo-agent direction=web" in log and "'user_id': 'u1'" in log
