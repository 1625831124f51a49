"""Voice profiles fail over: a cloud-first profile on a machine with no keys and no
network still speaks, with the local providers, and each skip is on record."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json

from websockets.asyncio.client import connect

from bus_contracts.voice_profiles import ProviderRef, get_profile
from speech import providers
from speech.pocketsphinx_stt import transcribe
from tests.fake_cloud import FakeCartesia, FakeDeepgram, FakeElevenLabs, tone_share
from tests.speech_audio import chunks, silence, speech
from tests.test_conversation import Client
from tests.test_runner_sdk import serving
from tests.test_speech_stt import words_right
from unpod import AsyncClient, CallContext


def test_the_providers_that_can_start_here_serve_in_order():
    profile = get_profile("vp_en_male_std")
    ready, skipped = providers.usable(profile.stt_failover, env={})
    assert [r.provider for r in ready] == ["pocketsphinx"]
    assert skipped == [providers.Skipped("deepgram", "no DEEPGRAM_API_KEY in the environment")]
    ready, skipped = providers.usable(profile.tts_failover, env={})
    assert [r.provider for r in ready] == ["piper", "espeak-ng"]
    assert [s.provider for s in skipped] == ["cartesia", "elevenlabs"]
    ready, skipped = providers.usable(profile.stt_failover, env={"DEEPGRAM_API_KEY": "dg-test"})
    assert [r.provider for r in ready] == ["deepgram", "pocketsphinx"] and skipped == []
    assert providers.usable((ProviderRef(provider="nonesuch"),), env={}) == (
        [],
        [providers.Skipped("nonesuch", "unknown provider 'nonesuch'")],
    )


async def test_deepgram_connects_with_its_headers_made_before_the_call(monkeypatch):
    # The SDK reads its version from its package's metadata for them at every connect,
    # on the event loop; the builder (in a thread) makes them once instead.
    async with FakeDeepgram() as deepgram:
        env = {"DEEPGRAM_API_KEY": "dg-key", "UNPOD_DEEPGRAM_URL": deepgram.url}
        service = providers.STT_BUILDERS["deepgram"](ProviderRef(provider="deepgram"), env)

        def read_metadata(name: str) -> str:
            raise AssertionError(f"{name}'s package metadata read at connect")

        monkeypatch.setattr(importlib.metadata, "version", read_metadata)
        async with service._client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate=16000):
            pass
    [(path, key)] = deepgram.connections  # one connection, with the key
    assert path.startswith("/v1/listen?") and key == "Token dg-key"


async def test_a_cloud_first_profile_speaks_offline_and_says_so(stack):
    heard: list[str] = []

    async def agent(ctx: CallContext) -> None:
        ctx.session.on("user_turn", heard.append)
        await ctx.session.run()

    async with cloud_profile_call(stack, agent, "cloudy") as (ws, client, call_id):
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


async def test_cloud_providers_serve_and_a_crash_mid_call_hands_over_without_dropping_it(stack, monkeypatch):
    """Deepgram and Cartesia (fakes speaking their real protocols) serve the first turn;
    both die; ElevenLabs, connected only now, answers the next, then dies too; the last turn is heard by
    PocketSphinx and answered by Piper, on the same call. Each switch is an event and a
    warning."""
    async with FakeDeepgram() as deepgram, FakeCartesia() as cartesia, FakeElevenLabs() as elevenlabs:
        monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-key")
        monkeypatch.setenv("UNPOD_DEEPGRAM_URL", deepgram.url)
        monkeypatch.setenv("CARTESIA_API_KEY", "ca-key")
        monkeypatch.setenv("UNPOD_CARTESIA_URL", f"{cartesia.url}/tts/websocket")
        monkeypatch.setenv("ELEVENLABS_API_KEY", "el-key")
        monkeypatch.setenv("UNPOD_ELEVENLABS_URL", elevenlabs.url)
        heard: list[str] = []

        async def agent(ctx: CallContext) -> None:
            ctx.session.dialog_machine = Echo()
            ctx.session.on("user_turn", heard.append)
            await ctx.session.run()

        async with cloud_profile_call(stack, agent, "cloud-echo") as (ws, client, call_id):
            await client.next("audio.started", timeout=30)
            assert deepgram.connections[0][1] == "Token dg-key"  # the keys reached the providers
            assert cartesia.connections[0][1] == "ca-key"
            assert elevenlabs.connections == []  # a cold standby: no socket held in reserve

            first, reply_audio = await spoken_turn(ws, client, "what is the weather like in boston today")
            assert deepgram.transcripts == [first["text"]]  # the fake cloud STT heard it
            assert words_right(first["text"], "what is the weather like in boston today") >= 0.7
            assert cartesia.spoken and not elevenlabs.spoken and tone_share(reply_audio, 16000) > 0.9

            await deepgram.crash()
            await cartesia.crash()
            switches = sorted([(await client.next("error", timeout=30)) for _ in range(2)], key=lambda w: w["source"])
            assert [(w["severity"], w["source"], w["code"]) for w in switches] == [
                ("warn", "stt", "provider_failover"),
                ("warn", "tts", "provider_failover"),
            ]
            assert switches[0]["message"].startswith("deepgram: failed mid-call")
            assert switches[0]["message"].endswith("; pocketsphinx took over")
            assert switches[1]["message"].startswith("cartesia: failed mid-call")
            assert switches[1]["message"].endswith("; elevenlabs took over")

            assert [c[1] for c in elevenlabs.connections] == ["el-key"]  # connected to take over
            second, reply_audio = await spoken_turn(ws, client, "please book a table for two at seven")
            assert words_right(second["text"], "please book a table for two at seven") >= 0.6
            assert elevenlabs.spoken and tone_share(reply_audio, 16000) > 0.9

            await elevenlabs.crash()
            last = await client.next("error", timeout=30)
            assert last["message"].startswith("elevenlabs: failed mid-call")
            assert last["message"].endswith("; piper took over")
            third, reply_audio = await spoken_turn(ws, client, "what is the weather like in boston today")
            assert tone_share(reply_audio, 16000) < 0.2  # not the fakes' tone: Piper's voice
            spoken_back = transcribe(reply_audio + bytes(16000))
            assert words_right(spoken_back, "you said what is the weather like") >= 0.5, spoken_back
            await ws.send(json.dumps({"type": "hangup"}))
            assert (await client.next("session.ended"))["reason"] == "hangup"  # ended by the caller, not a crash
        assert heard == [first["text"], second["text"], third["text"]]
        records = await stack.node.store.read_subject("call", call_id)
        skips = [(r.event.kind, r.event.provider) for r in records if r.envelope.type == "call.provider_skipped"]
        assert sorted(skips[:2]) == [("stt", "deepgram"), ("tts", "cartesia")] and skips[2:] == [("tts", "elevenlabs")]


@contextlib.asynccontextmanager
async def cloud_profile_call(stack, agent, agent_id: str):
    """A runner of ``agent``, and a call to it on a pipe with the cloud-first profile
    vp_en_male_std, connected, listening, its audio asked for: (ws, client, call_id)."""
    async with serving(stack, agent, agent_id):
        async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
            pipe = await c.pipes.create(name=agent_id, agent_id=agent_id, voice_profile="vp_en_male_std")
            token = await c.sessions.create_token(pipe.pipe_id)
        async with connect(f"{stack.ws_url}/v1/pipes/{pipe.pipe_id}/connect?token={token.token}") as ws:
            client = Client(ws)
            call_id = (await client.next("session.started"))["call_id"]
            await client.state("listening")
            await ws.send(json.dumps({"type": "audio.start"}))
            yield ws, client, call_id


class Echo:
    async def stream(self, text: str):
        yield f"You said {text}."


async def spoken_turn(ws, client: Client, said: str) -> tuple[dict, bytes]:
    """Speak ``said``; the caller's turn as transcribed, and all the reply's audio."""
    for chunk in chunks(silence(0.3) + speech(said) + silence(1.2)):
        await ws.send(chunk)
    turn = await client.next("user.turn", timeout=30)
    await client.next("agent.reply", timeout=30)
    return turn, await client.audio_until_quiet()


def test_cloud_voices_are_named_by_the_ids_the_providers_take():
    import re

    from bus_contracts.voice_profiles import CATALOG

    shapes = {
        "cartesia": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "elevenlabs": r"[A-Za-z0-9]{20}",
    }
    refs = [r for p in CATALOG for r in p.tts_failover if r.provider in shapes]
    assert refs and all(re.fullmatch(shapes[r.provider], r.voice or "") for r in refs), refs
