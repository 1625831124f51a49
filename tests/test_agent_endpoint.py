"""A pipe whose brain is an HTTP endpoint: called every turn per PROTOCOLS.md;
failures are spoken as a fallback and recorded, and the call goes on."""

from __future__ import annotations

import asyncio
import json

import pytest
import uvicorn
from litestar import Litestar, Request, post
from websockets.asyncio.client import connect

from tests.conftest import eventually, free_port, start_stack, stop_stack
from tests.test_conversation import Client
from unpod import HTTPAdapter

RECEIVED: list[dict] = []


@post("/turn", status_code=200)
async def turn(request: Request) -> object:
    body = await request.json()
    RECEIVED.append(body)
    text = body["text"]
    if text == "break":
        from litestar.exceptions import HTTPException

        raise HTTPException(status_code=500, detail="boom")
    if text == "slow":
        await asyncio.sleep(2)
    if text == "garbage":
        return {"reply": "wrong shape"}
    if text == "metered":
        return {"text": "counted", "usage": {"input_tokens": 3, "output_tokens": 1, "cost_usd": 0.0005}}
    return {"text": f"Sure: {text} (turn {body['context']['turn_number']})"}


@pytest.fixture
async def endpoint():
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Litestar([turn]), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())

    async def started():  # uvicorn offers no event for this
        return server.started

    await eventually(started)
    RECEIVED.clear()
    yield f"http://127.0.0.1:{port}/turn"
    server.should_exit = True
    await task


async def test_http_agent_endpoint_turns_and_failure_modes(tmp_path, nats_url, endpoint):
    stack = await start_stack(tmp_path / "n", nats_url, agent_endpoint_timeout_s=0.5)
    try:
        async with stack.http() as http:
            pipe = (await http.post("/v1/pipes", json={"name": "Webhook", "agent_endpoint": endpoint})).json()
            token = (
                await http.post("/v1/sessions/token", json={"pipe_id": pipe["pipe_id"], "metadata": {"crm": 42}})
            ).json()
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe['pipe_id']}/connect?token={token['token']}") as ws:
            client = Client(ws)
            call_id = (await client.next("session.started"))["call_id"]
            await client.say("reschedule please")
            assert (await client.next("agent.reply"))["text"] == "Sure: reschedule please (turn 1)"
            for bad, code in (
                ("break", "endpoint_status"),
                ("slow", "endpoint_timeout"),
                ("garbage", "endpoint_malformed"),
            ):
                await client.say(bad)
                assert (await client.next("error"))["code"] == code
                fallback = await client.next("agent.reply")
                assert fallback["fallback"] is True and "trouble" in fallback["text"]
            await client.say("still alive?")  # the call was never dropped
            assert (await client.next("agent.reply"))["text"] == "Sure: still alive? (turn 5)"
            await ws.send(json.dumps({"type": "hangup"}))
            await client.next("session.ended")

        first = RECEIVED[0]
        assert first["text"] == "reschedule please"
        assert first["context"] == {
            "call_id": call_id, "session_id": call_id, "turn_number": 1, "direction": "web", "user_number": "", "data": {"crm": 42},
        }  # fmt: skip
        records = await stack.node.store.read_subject("call", call_id)
        failures = [(r.event.turn, r.event.code) for r in records if r.envelope.type == "call.agent_error"]
        assert failures == [(2, "endpoint_status"), (3, "endpoint_timeout"), (4, "endpoint_malformed")]
        assert "call.runner_assigned" not in [r.envelope.type for r in records]  # no runner involved
    finally:
        await stop_stack(stack)


async def test_unreachable_endpoint_is_a_fallback_too(stack):
    async with stack.http() as http:
        pipe = (
            await http.post("/v1/pipes", json={"name": "Gone", "agent_endpoint": f"http://127.0.0.1:{free_port()}/x"})
        ).json()
        token = (await http.post("/v1/sessions/token", json={"pipe_id": pipe["pipe_id"]})).json()
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe['pipe_id']}/connect?token={token['token']}") as ws:
        client = Client(ws)
        await client.say("hello?")
        assert (await client.next("error"))["code"] == "endpoint_unreachable"
        assert (await client.next("agent.reply"))["fallback"] is True


async def test_the_runner_sdks_http_adapter_streams_the_reply_and_its_usage(endpoint):
    """``HTTPAdapter`` speaks the agent-endpoint contract from inside a runner."""
    adapter = HTTPAdapter(endpoint)
    adapter.context = {"call_id": "call_1", "turn_number": 4}
    try:
        assert [chunk async for chunk in adapter.stream("hello")] == ["Sure: hello (turn 4)"]
        assert adapter.last_usage is None and RECEIVED[-1]["context"]["call_id"] == "call_1"
        assert [chunk async for chunk in adapter.stream("metered")] == ["counted"]
        assert adapter.last_usage == {"input_tokens": 3, "output_tokens": 1, "cost_usd": 0.0005}
        with pytest.raises(ValueError, match="without a 'text' string"):
            [chunk async for chunk in adapter.stream("garbage")]
        assert adapter.last_usage is None  # a failed turn reports nothing spent
    finally:
        await adapter.aclose()


async def test_an_endpoint_reply_is_spoken_in_a_voice_session(stack, endpoint):
    """An HTTP endpoint answers in one piece (no stream): the whole reply is spoken."""
    from speech.pocketsphinx_stt import transcribe
    from tests.speech_audio import chunks, silence, speech
    from tests.test_speech_stt import words_right

    async with stack.http() as http:
        pipe = (await http.post("/v1/pipes", json={"name": "Voice hook", "agent_endpoint": endpoint})).json()
        token = (await http.post("/v1/sessions/token", json={"pipe_id": pipe["pipe_id"]})).json()
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe['pipe_id']}/connect?token={token['token']}") as ws:
        client = Client(ws)
        await ws.send(json.dumps({"type": "audio.start"}))
        await client.next("audio.started", timeout=30)
        for chunk in chunks(silence(0.3) + speech("book a table") + silence(1.2)):
            await ws.send(chunk)
        turn = await client.next("user.turn", timeout=30)
        reply = await client.next("agent.reply", timeout=10)
        assert reply["text"] == f"Sure: {turn['text']} (turn 1)"
        audio = await client.audio_until_quiet()
        heard = transcribe(audio + bytes(16000))
        assert words_right(heard, "sure book a table turn one") >= 0.5, heard
