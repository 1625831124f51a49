"""Door 1 with audio, end to end: real speech (Piper-voiced) goes in over the socket,
Silero VAD and PocketSphinx turn it into the caller's turn, our AgentRunner answers
in text, and Piper's reply audio comes back as binary frames."""

from __future__ import annotations

import asyncio
import json

from speech.pocketsphinx_stt import transcribe
from tests.conftest import eventually
from tests.speech_audio import chunks, silence, speech
from tests.test_runner_sdk import open_call, serving
from tests.test_speech_stt import words_right
from unpod import AsyncClient, CallContext


class Echo:
    async def stream(self, text: str):
        yield "You said "
        yield f"{text}."


async def test_a_spoken_turn_reaches_the_runner_and_the_reply_comes_back_as_audio(stack):
    heard_by_runner: list[str] = []
    runner_metrics: list[dict] = []

    async def agent(ctx: CallContext) -> None:
        ctx.session.dialog_machine = Echo()
        ctx.session.on("user_turn", heard_by_runner.append)
        ctx.session.on("turn_metrics", runner_metrics.append)
        await ctx.session.run()

    async with serving(stack, agent, "voice-echo", max_sessions=2):
        ws, client = await open_call(stack, "voice-echo")
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        await ws.send(json.dumps({"type": "audio.start", "input_sample_rate": 16000, "output_sample_rate": 16000}))
        started = await client.next("audio.started", timeout=30)
        assert (started["input_sample_rate"], started["output_sample_rate"]) == (16000, 16000)

        said = "what is the weather like in boston today"
        for chunk in chunks(silence(0.3) + speech(said) + silence(1.2)):
            await ws.send(chunk)
        frames: list[dict] = []
        audio = bytearray()
        async with asyncio.timeout(30):
            while not any(f.get("type") == "agent.reply" for f in frames) or len(audio) < 16000 * 2:
                message = await ws.recv()
                if isinstance(message, bytes):
                    audio.extend(message)
                else:
                    frames.append(json.loads(message))
            # The rest of the reply's audio: it is paced in real time.
            while True:
                try:
                    message = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    break
                if isinstance(message, bytes):
                    audio.extend(message)

        (turn,) = [f for f in frames if f["type"] == "user.turn"]
        assert words_right(turn["text"], said) >= 0.8, turn
        assert heard_by_runner == [turn["text"]]  # the runner got the words, as text
        (reply,) = [f for f in frames if f["type"] == "agent.reply"]
        assert reply["text"] == f"You said {turn['text']}."
        # Every stage of the turn was timed where it ran: endpointing from the end of the
        # voice to the VAD's stop (its 0.2 s wait for silence and Silero's lag on the fading
        # end of the last word), STT the decode after it, TTS its first byte.
        timings = reply["timings"]
        assert 200 < timings["endpointing_ms"] < 450, timings
        assert 0 < timings["stt_ms"] < 3000 and 0 < timings["tts_ttfb_ms"] < 3000, timings
        assert 0 < timings["agent_ttft_ms"] <= timings["agent_total_ms"]
        seconds = len(audio) / 2 / 16000
        assert 1.0 < seconds < 8.0, seconds
        heard_back = transcribe(bytes(audio) + bytes(16000))
        assert words_right(heard_back, "you said what is the weather like in boston today") >= 0.6, heard_back

        await ws.send(json.dumps({"type": "hangup"}))
        await client.next("session.ended")
        await ws.close()
        # The same timings are on the call's record, and the runner was told them.
        records = await stack.node.store.read_subject("call", call_id)
        (replied,) = [r.event for r in records if r.envelope.type == "call.agent_replied"]
        assert (replied.timings.stt_ms, replied.timings.tts_ttfb_ms) == (timings["stt_ms"], timings["tts_ttfb_ms"])
        assert runner_metrics and runner_metrics[0]["asr_ms"] == timings["stt_ms"]
        assert runner_metrics[0]["tts_ttfb_ms"] == timings["tts_ttfb_ms"]
        async with stack.http() as http:

            async def metrics():
                body = (await http.get(f"/v1/calls/{call_id}")).json()
                return body["metrics"] if body["metrics"]["turns"] else None

            m = await eventually(metrics)
        assert (m["stt_p95_ms"], m["tts_p95_ms"]) == (timings["stt_ms"], timings["tts_ttfb_ms"])


async def test_audio_before_start_and_bad_rates_get_clear_errors(stack):
    async with serving(stack, lambda ctx: ctx.session.run(), "quiet"):
        ws, client = await open_call(stack, "quiet")
        await ws.send(b"\x00\x00" * 160)
        assert (await client.next("error"))["code"] == "audio_refused"
        await ws.send(json.dumps({"type": "audio.start", "input_sample_rate": 44100}))
        error = await client.next("error")
        assert error["code"] == "audio_refused" and "input_sample_rate" in error["message"]
        await ws.send(json.dumps({"type": "user.text", "text": "still here"}))
        assert (await client.next("user.turn"))["text"] == "still here"  # the session goes on
        await ws.close()


async def test_a_greeting_said_before_audio_started_is_spoken_once_it_has(stack):
    async def agent(ctx: CallContext) -> None:
        await ctx.session.say("Hello, thanks for calling.")
        await ctx.session.run()

    async with serving(stack, agent, "greeter"):
        ws, client = await open_call(stack, "greeter")
        await client.next("agent.say")  # the greeting came before the client asked for audio
        await ws.send(json.dumps({"type": "audio.start"}))
        await client.next("audio.started", timeout=30)
        audio = await client.audio_until_quiet(timeout=15)
        assert len(audio) > 32000  # a second and more of it
        heard = transcribe(audio + bytes(16000))
        assert words_right(heard, "hello thanks for calling") >= 0.5, heard
        await ws.close()


class Storyteller:
    """A long first reply, streamed a sentence at a time; nothing to say afterwards."""

    STORY = (
        "Okay. Once upon a time there was a little boat that sailed across the wide blue sea. "
        "Every morning the boat visited a new island and met the people who lived there. "
        "The people shared their bread and their songs, and the boat carried their letters home. "
        "One stormy night the boat lost its way, and the stars had to guide it back to the harbour."
    )

    def __init__(self) -> None:
        self.turns = 0

    async def stream(self, text: str):
        self.turns += 1
        if self.turns > 1:
            return
        for sentence in self.STORY.split(". "):
            yield sentence.rstrip(".") + ". "
            await asyncio.sleep(0.05)  # an LLM's pace


async def test_barging_in_stops_playback_and_the_runner_hears_what_was_heard(stack):
    interruptions: list[str] = []

    async def agent(ctx: CallContext) -> None:
        ctx.session.dialog_machine = Storyteller()
        ctx.session.on("interruption", interruptions.append)
        await ctx.session.run()

    async with serving(stack, agent, "storyteller"):
        ws, client = await open_call(stack, "storyteller")
        call_id = (await client.next("session.started"))["call_id"]
        await client.state("listening")
        await ws.send(json.dumps({"type": "audio.start"}))
        await client.next("audio.started", timeout=30)
        for chunk in chunks(silence(0.3) + speech("tell me a story") + silence(1.2)):
            await ws.send(chunk)

        played = 0
        async with asyncio.timeout(30):
            while played < 3 * 32000:  # three seconds of the story reached the caller
                message = await ws.recv()
                if isinstance(message, bytes):
                    played += len(message)

        # The caller talks over the bot (barge-in counts seconds of audio, not of wall time).
        frames: list[dict] = []
        for chunk in chunks(speech("wait wait stop talking please") + silence(1.0)):
            await ws.send(chunk)
        after_clear = 0
        async with asyncio.timeout(15):
            while not {"user.interrupted", "playback.clear"} <= {f.get("type") for f in frames}:
                message = await ws.recv()
                if isinstance(message, bytes):
                    if any(f.get("type") == "playback.clear" for f in frames):
                        after_clear += len(message)
                else:
                    frames.append(json.loads(message))
        while True:  # what still comes: nothing of the story
            try:
                message = await asyncio.wait_for(ws.recv(), 1.5)
            except TimeoutError:
                break
            if isinstance(message, bytes):
                after_clear += len(message)
        assert after_clear <= 0.2 * 32000, after_clear / 32000  # at most the chunk in flight

        (heard,) = interruptions
        assert heard and Storyteller.STORY.startswith(heard.rstrip(". ")), heard  # a true prefix, and not empty
        assert len(heard) < len(Storyteller.STORY) / 2
        await ws.send(json.dumps({"type": "hangup"}))
        await ws.close()
        # Its text had all arrived before the caller cut in; the log says what was heard.
        records = await stack.node.store.read_subject("call", call_id)
        (cut,) = [r.event for r in records if r.envelope.type == "call.reply_interrupted"]
        assert (cut.turn, cut.heard_prefix) == (1, heard)
        async with stack.http() as http:

            async def transcript():
                lines = (await http.get(f"/v1/calls/{call_id}/transcript")).json()["lines"]
                return [line for line in lines if line["role"] == "agent" and line["interrupted"]]

            (line,) = await eventually(transcript)
        assert line["text"] == heard


async def test_a_pipe_can_ask_for_longer_speech_before_the_bot_stops(stack):
    """barge_in_min_speech_s is the pipe's: at 4 s, the same words over the bot that stop
    it by default (0.6 s) are let through, and the story goes on."""
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        pipe = await c.pipes.create(name="patient", agent_id="patient-teller", barge_in_min_speech_s=4.0)
    assert pipe.barge_in_min_speech_s == 4.0

    async def agent(ctx: CallContext) -> None:
        ctx.session.dialog_machine = Storyteller()
        await ctx.session.run()

    async with serving(stack, agent, "patient-teller"):
        ws, client = await open_call(stack, "patient-teller")
        await client.state("listening")
        await ws.send(json.dumps({"type": "audio.start"}))
        await client.next("audio.started", timeout=30)
        for chunk in chunks(silence(0.3) + speech("tell me a story") + silence(1.2)):
            await ws.send(chunk)
        async with asyncio.timeout(30):
            while len(client.heard) < 2 * 32000:  # two seconds of the story reached the caller
                await client.receive_one()
        for chunk in chunks(speech("wait wait stop talking please") + silence(1.0)):
            await ws.send(chunk)
        before = len(client.heard)
        async with asyncio.timeout(10):
            while len(client.heard) < before + 2 * 32000:  # two more seconds of story: it went on
                await client.receive_one()
        assert not [f for f in client.unread if f["type"] in ("playback.clear", "user.interrupted")]
        await ws.close()


async def test_the_agents_last_words_are_heard_before_it_hangs_up(stack):
    """An agent that says goodbye and ends the call at once: the whole goodbye is spoken
    and sent before the session ends, not cut off by the hang-up."""
    goodbye = "Thank you for calling. Goodbye, and have a wonderful day."

    async def agent(ctx: CallContext) -> None:
        async def farewell(_text: str) -> None:
            await ctx.session.say(goodbye)
            await ctx.session.end()

        ctx.session.on("user_turn", farewell)
        await ctx.session.run()

    async with serving(stack, agent, "farewell"):
        ws, client = await open_call(stack, "farewell")
        await client.next("session.started")
        await client.state("listening")
        await ws.send(json.dumps({"type": "audio.start"}))
        await client.next("audio.started", timeout=30)
        await ws.send(json.dumps({"type": "user.text", "text": "that is all, thanks"}))
        audio = bytearray()
        async with asyncio.timeout(30):
            while True:
                message = await ws.recv()
                if isinstance(message, bytes):
                    audio.extend(message)
                elif json.loads(message)["type"] == "session.ended":
                    ended = json.loads(message)
                    break
    assert ended["reason"] == "completed"
    assert len(audio) / 2 / 16000 > 2.0  # the whole sentence, not its first chunks
    heard = transcribe(bytes(audio) + bytes(16000))
    assert words_right(heard, "thank you for calling goodbye and have a wonderful day") >= 0.5, heard
