"""`unpod up` as a user runs it (a real subprocess), and the seed 000 management
samples run unchanged against it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from tests.processes import UpProcess
from unpod import AsyncClient

SAMPLES = Path(__file__).parent / "seed_samples"


async def run_sample(name: str, up: UpProcess, key: str, **placeholders: str) -> str:
    code = (SAMPLES / name).read_text().replace('"sk-..."', json.dumps(key))
    for placeholder, value in placeholders.items():
        code = code.replace(placeholder, value)
    env = {**os.environ, "UNPOD_BASE_URL": up.url}
    env.pop("UNPOD_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_seed_samples_run_unchanged_against_unpod_up(tmp_path):
    up = UpProcess(tmp_path / "data")
    await up.start()
    try:
        creds = json.loads((tmp_path / "data" / "credentials.json").read_text())
        assert oct((tmp_path / "data" / "credentials.json").stat().st_mode & 0o777) == "0o600"
        key = creds["api_key"]
        assert key in up.text  # printed once, on first start

        async with AsyncClient(api_key=key, base_url=up.url) as client:
            support = await client.pipes.create(name="Support", voice_profile="vp_local_en", agent_id="support-bot")
            number = await client.numbers.add("+14155550100")
            await client.numbers.attach(number.id, support.pipe_id)

        listed = await run_sample("list_pipes.py", up, key)
        assert f"{support.pipe_id} Support vp_local_en" in listed

        created = await run_sample("webhook_pipe.py", up, key)
        webhook_id = re.search(r"Pipe with HTTP endpoint: (pipe_\w+)", created).group(1)

        deleted = await run_sample("detach_and_delete.py", up, key, **{"pipe_...": support.pipe_id})
        assert deleted.strip() == "Deleted"

        async with AsyncClient(api_key=key, base_url=up.url) as client:
            assert [p.pipe_id for p in await client.pipes.list()] == [webhook_id]
            webhook = await client.pipes.get(webhook_id)
            assert webhook.agent_endpoint == "https://your-api.example.com/dialog/turn"
            assert (await client.numbers.get(number.id)).status == "available"
    finally:
        code = await up.stop(signal.SIGTERM)
    assert code == 0, up.text
    assert "Stopped." in up.text

    # Restart: same data, the key is not printed again, and it still works.
    again = UpProcess(tmp_path / "data")
    await again.start()
    try:
        assert key not in again.text and "credentials.json" in again.text
        listed = await run_sample("list_pipes.py", again, key)
        assert listed.split() == [webhook_id, "Webhook", "Bot", "vp_en_male_std"]
    finally:
        assert await again.stop(signal.SIGINT) == 0, again.text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_signals_stop_the_embedded_nats_server_too(tmp_path, sig):
    up = UpProcess(tmp_path / "data")
    await up.start()
    pid_files = list((tmp_path / "data" / "nats" / "run").glob("*.ports"))
    assert pid_files
    nats_pid = int(pid_files[0].stem.rsplit("_", 1)[1])
    os.kill(nats_pid, 0)  # running
    assert await up.stop(sig) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(nats_pid, 0)


async def test_unpod_nats_url_uses_an_external_nats(tmp_path, nats_server):
    up = UpProcess(tmp_path / "data", UNPOD_NATS_URL=nats_server.url)
    await up.start()
    try:
        assert f"NATS:       {nats_server.url} (external)" in up.text
        assert not (tmp_path / "data" / "nats").exists()  # no embedded server was started
        key = json.loads((tmp_path / "data" / "credentials.json").read_text())["api_key"]
        async with AsyncClient(api_key=key, base_url=up.url) as client:
            pipe = await client.pipes.create(name="external", agent_id="bot")
    finally:
        assert await up.stop() == 0, up.text
    # The events live in the external server: a fresh node elsewhere sees them.
    import nats as nats_client

    from actors.deciders import pipe as pipe_decider
    from actors.event_store import EventStore

    nc = await nats_client.connect(nats_server.url)
    store = EventStore(nc)
    await store.start()
    assert (await store.load(pipe_decider.DECIDER, pipe.pipe_id)).state.config.name == "external"
    await store.stop()
    await nc.close()


async def test_embedded_nats_requires_the_data_folders_token(tmp_path):
    import nats as nats_client
    from nats.errors import NoServersError

    up = UpProcess(tmp_path / "data")
    await up.start()
    try:
        url = re.search(r"NATS:\s+(nats://\S+)", up.text).group(1)
        token = (tmp_path / "data" / "nats" / "token").read_text().strip()
        assert token not in up.text  # never printed
        assert oct((tmp_path / "data" / "nats" / "token").stat().st_mode & 0o777) == "0o600"
        with pytest.raises((NoServersError, nats_client.errors.Error)):
            await nats_client.connect(url, max_reconnect_attempts=0, allow_reconnect=False, connect_timeout=2)
        nc = await nats_client.connect(url.replace("nats://", f"nats://{token}@"))
        assert nc.is_connected
        await nc.close()
    finally:
        assert await up.stop() == 0, up.text


async def test_unpod_up_demo_runs_an_agent_you_can_talk_to(tmp_path):
    from websockets.asyncio.client import connect

    from tests.test_conversation import Client

    up = UpProcess(tmp_path / "data", "--demo")
    await up.start()
    try:
        pipe_id = re.search(r"pipe (pipe_\w+) \('Demo concierge'\)", up.text).group(1)
        key = json.loads((tmp_path / "data" / "credentials.json").read_text())["api_key"]
        async with AsyncClient(api_key=key, base_url=up.url) as client:
            token = await client.sessions.create_token(pipe_id)
        ws_url = up.url.replace("http://", "ws://")
        async with connect(f"{ws_url}/v1/pipes/{pipe_id}/connect?token={token.token}") as ws:
            talk = Client(ws)
            assert "concierge" in (await talk.next("agent.say"))["text"]
            await talk.say("my name is Ada")
            assert (await talk.next("agent.reply"))["text"].strip() == "Nice to meet you, Ada. How can I help?"
            await talk.say("when are you open")
            assert "nine to five" in (await talk.next("agent.reply"))["text"]
            await talk.say("goodbye")
            assert "Goodbye, Ada" in (await talk.next("agent.reply"))["text"]
            assert (await talk.next("session.ended"))["reason"] == "completed"
    finally:
        assert await up.stop() == 0, up.text
