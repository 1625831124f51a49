"""Voice profiles fail over: a cloud-first profile on a machine with no keys and no
network still speaks, with the local providers, and each skip is on record."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from bus_contracts.voice_profiles import ProviderRef, get_profile
from speech import providers
from tests.speech_audio import chunks, silence, speech
from tests.test_conversation import Client
from tests.test_runner_sdk import on_board
from tests.test_speech_stt import words_right
from unpod import AgentRunner, AsyncClient, CallContext


def test_the_first_provider_that_can_start_here_serves():
    profile = get_profile("vp_en_male_std")
    chosen, skipped = providers.choose(profile.stt_failover, env={})
    assert chosen.provider == "pocketsphinx"
    assert skipped == [providers.Skipped("deepgram", "no DEEPGRAM_API_KEY in the environment")]
    chosen, skipped = providers.choose(profile.tts_failover, env={})
    assert chosen.provider == "piper" and [s.provider for s in skipped] == ["cartesia", "elevenlabs"]
    # A key alone is not enough: the provider's service must be there too.
    chosen, skipped = providers.choose(profile.stt_failover, env={"DEEPGRAM_API_KEY": "dg-test"})
    assert chosen.provider == "pocketsphinx" and "no DEEPGRAM_API_KEY" not in skipped[0].reason
    assert providers.choose((ProviderRef(provider="nonesuch"),), env={}) == (
        None,
        [providers.Skipped("nonesuch", "unknown provider 'nonesuch'")],
    )


async def test_a_cloud_first_profile_speaks_offline_and_says_so(stack):
    heard: list[str] = []

    async def agent(ctx: CallContext) -> None:
        ctx.session.on("user_turn", heard.append)
        await ctx.session.run()

    runner = AgentRunner(agent, agent_id="cloudy", api_key=stack.api_key, base_url=stack.url)
    task = asyncio.create_task(runner.run())
    await on_board(stack, "cloudy")
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="Cloudy", agent_id="cloudy", voice_profile="vp_en_male_std")
        token = await c.sessions.create_token(pipe.pipe_id)
    async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
        client = Client(ws)
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        await ws.send(json.dumps({"type": "audio.start"}))
        warnings = [await client.next("error", timeout=30) for _ in range(3)]
        assert {(w["severity"], w["source"], w["code"]) for w in warnings} == {
            ("warn", "stt", "provider_failover"),
            ("warn", "tts", "provider_failover"),
        }
        assert sorted(w["message"].split(":")[0] for w in warnings) == ["cartesia", "deepgram", "elevenlabs"]
        await client.next("audio.started", timeout=30)
        for chunk in chunks(silence(0.3) + speech("what is the weather like in boston today") + silence(1.2)):
            await ws.send(chunk)
        turn = await client.next("user.turn", timeout=30)
        assert words_right(turn["text"], "what is the weather like in boston today") >= 0.7
        await ws.send(json.dumps({"type": "hangup"}))
    records = await stack.node.store.read_subject("call", call_id)
    skipped = [(r.event.kind, r.event.provider) for r in records if r.envelope.type == "call.provider_skipped"]
    assert skipped == [("stt", "deepgram"), ("tts", "cartesia"), ("tts", "elevenlabs")]
    assert heard == [turn["text"]]
    await runner.shutdown()
    await task
