"""REST over calls and runners: list, get, transcript, events (audit), hangup, runners."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect

from api.bootstrap import create_project_with_key
from tests.conftest import eventually
from tests.test_conversation import Client, setup


async def test_calls_transcript_events_and_hangup(stack):
    pipe, token, runner, _ = await setup(stack)
    async with stack.http() as http:
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
            client = Client(ws)
            call_id = (await client.next("session.started"))["call_id"]
            await client.state("listening")
            await client.say("what time is it")
            await client.next("agent.reply")

            async def turn_projected():  # the read model follows the log within milliseconds
                call = (await http.get(f"/v1/calls/{call_id}")).json()
                return call if call["turns"] == 1 else None

            live = await eventually(turn_projected)
            metrics = live.pop("metrics")
            assert metrics["turns"] == 1 and metrics["duration_s"] > 0
            assert 0 < metrics["llm_p95_ms"] <= metrics["reply_p95_ms"]
            assert metrics["stt_p95_ms"] == metrics["tts_p95_ms"] == 0  # a text call
            assert live["status"] == "connected" and live["worker_id"] == runner.worker_id and live["turns"] == 1
            runners = (await http.get("/v1/runners")).json()
            (mine,) = runners["data"]
            assert (mine["worker_id"], mine["status"], mine["capacity"], mine["load"]) == (
                runner.worker_id,
                "online",
                2,
                1,
            )

            hung = await http.post(f"/v1/calls/{call_id}/hangup")
            assert (
                hung.status_code == 200 and hung.json()["status"] == "ended" and hung.json()["end_reason"] == "operator"
            )
            assert (await client.next("session.ended"))["reason"] == "operator"

        listed = (await http.get("/v1/calls", params={"status": "ended"})).json()["data"]
        assert [c["call_id"] for c in listed] == [call_id]
        transcript = (await http.get(f"/v1/calls/{call_id}/transcript")).json()
        assert [(x["role"], x["turn"], x["text"]) for x in transcript["lines"]] == [
            ("user", 1, "what time is it"),
            ("agent", 1, "echo: what time is it"),
        ]
        events = (await http.get(f"/v1/calls/{call_id}/events")).json()["data"]
        assert [e["type"] for e in events][-1] == "call.ended"
        assert events[0]["data"]["pipe_id"] == pipe.pipe_id and events[-1]["data"]["reason"] == "operator"
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)

        other = await create_project_with_key(stack.node, "other")
        async with stack.http(api_key=other.api_key) as theirs:
            for path in (f"/v1/calls/{call_id}", f"/v1/calls/{call_id}/transcript", f"/v1/calls/{call_id}/events"):
                assert (await theirs.get(path)).status_code == 404
            assert (await theirs.post(f"/v1/calls/{call_id}/hangup")).status_code == 404
            assert (await theirs.get("/v1/calls")).json()["data"] == []
            assert (await theirs.get("/v1/runners")).json()["data"] == []
    await runner.stop()

    async def runner_lost():
        async with stack.http() as http:
            return (await http.get("/v1/runners")).json()["data"][0]["status"] == "lost"

    await eventually(runner_lost)


async def test_queued_calls_show_up_in_runner_stats(stack):
    async with stack.http() as http:
        pipe = (await http.post("/v1/pipes", json={"name": "nobody home", "agent_id": "ghost"})).json()
        token = (await http.post("/v1/sessions/token", json={"pipe_id": pipe["pipe_id"]})).json()["token"]
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe['pipe_id']}/connect?token={token}") as ws:
            await Client(ws).next("session.started")

            async def queued():
                return (await http.get("/v1/runners")).json()["queued"] == {"ghost": 1}

            await eventually(queued)
            await ws.send(json.dumps({"type": "hangup"}))


async def test_sdk_sessions_end_ends_a_live_session(stack):
    from unpod import AsyncClient, NotFoundError

    pipe, token, runner, _ = await setup(stack)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        session_id = (await client.next("session.started"))["session_id"]
        await client.state("listening")
        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            await c.sessions.end(session_id)
            assert (await client.next("session.ended"))["reason"] == "operator"
            with pytest.raises(NotFoundError):
                await c.sessions.end("sess_missing")
    await runner.stop()


async def test_hangup_through_another_node_reaches_the_node_hosting_the_call(tmp_path, nats_url):
    from tests.conftest import start_stack, stop_stack

    a = await start_stack(tmp_path / "a", nats_url)
    b = await start_stack(tmp_path / "b", nats_url, bootstrap=False)
    try:
        b.api_key, b.project_id = a.api_key, a.project_id
        pipe, token, runner, _ = await setup(a)
        async with connect(f"{a.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
            client = Client(ws)
            call_id = (await client.next("session.started"))["call_id"]
            await client.state("listening")
            await b.node.projector.wait_for(await a.node.store.last_seq())
            assert call_id not in b.node.sessions  # hosted on A only
            async with b.http() as http:
                r = await http.post(f"/v1/calls/{call_id}/hangup")
            assert r.status_code == 200 and r.json()["status"] == "ended"
            assert (await client.next("session.ended"))["reason"] == "operator"
        await runner.stop()
    finally:
        await stop_stack(b)
        await stop_stack(a)
