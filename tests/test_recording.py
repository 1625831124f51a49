"""Call recordings end to end: a voice call on a pipe that records leaves one stereo WAV
(the caller left, the agent right) in the recordings bucket, listed by the API and
shown on the call; a pause in the recording is silence in the file on both channels.

The caller is a microphone streaming real speech at real-time pace, silence in
between, as a browser does (tests.voice_client): the file is laid out on the clock,
so only a caller that keeps time lets the test know where in the file each thing
was said.
"""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np

from api.bootstrap import create_project_with_key
from tests.conftest import eventually
from tests.speech_audio import silence, speech
from tests.test_runner_sdk import on_board
from tests.voice_client import RATE, hang_up, voice_call
from unpod import AgentRunner, CallContext

#: Speech in the file: Piper's voice is far above this RMS, digital silence is 0.
LOUD = 300


class Echo:
    async def stream(self, text: str):
        yield f"You said {text}."


async def serve(stack, agent_id: str):
    """A runner of ``agent_id`` that echoes each turn; its live sessions, by call id."""
    sessions: dict[str, object] = {}

    async def agent(ctx: CallContext) -> None:
        ctx.session.dialog_machine = Echo()
        sessions[ctx.call_id] = ctx.session
        await ctx.session.run()

    runner = AgentRunner(agent, agent_id=agent_id, max_sessions=2, api_key=stack.api_key, base_url=stack.url)
    task = asyncio.create_task(runner.run())
    await on_board(stack, agent_id)
    return runner, task, sessions


async def stored_recording(http, call_id: str) -> dict:
    async def listed():
        return (await http.get("/v1/recordings", params={"call_id": call_id})).json()["data"]

    (recording,) = await eventually(listed, timeout=20)
    return recording


def read_wav(body: bytes) -> tuple[tuple, np.ndarray]:
    with wave.open(io.BytesIO(body), "rb") as wav:
        params = wav.getparams()
        frames = np.frombuffer(wav.readframes(params.nframes), dtype="<i2").reshape(-1, params.nchannels)
    return params, frames


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def onset(samples: np.ndarray) -> int:
    """Where speech starts: the first sample above a whisper."""
    return int(np.argmax(np.abs(samples) > LOUD))


async def test_a_recorded_call_is_a_stereo_wav_with_its_pause_left_silent(stack):
    # Synthesised first: Piper holds the event loop the node shares with this test.
    first = silence(0.3) + speech("what is the weather like in boston today")
    card = silence(0.3) + speech("my card number is four two four two")
    after = silence(0.2) + speech("thank you very much")
    async with stack.http() as http:
        created = await http.post("/v1/pipes", json={"name": "Recorded", "agent_id": "recorded", "recording": True})
        pipe_id = created.json()["pipe_id"]
    runner, runner_task, sessions = await serve(stack, "recorded")
    # The agent speaks at 24 kHz: the file has one rate, so its side is resampled.
    call_id, ws, mic, listener = await voice_call(stack, pipe_id, output_rate=24000)
    async with asyncio.timeout(90):
        said_1 = mic.say(first)
        replied_1 = await listener.played_out(since=said_1[1])

        # The agent pauses the recording (a card number is coming) and the caller
        # reads it out; the agent answers, also during the pause.
        asked_pause = mic.sent
        await sessions[call_id].recording.pause("card number")
        paused_at, _ = await listener.next("recording.paused")
        said_2 = mic.say(card)
        await listener.played_out(since=said_2[1])
        asked_resume = mic.sent
        await sessions[call_id].recording.resume()
        resumed_at, _ = await listener.next("recording.resumed")

        said_3 = mic.say(after)
        await mic.until(said_3[1] + RATE // 2)
        streamed = await hang_up(ws, mic, listener)

    async with stack.http() as http:
        recording = await stored_recording(http, call_id)
        assert recording == (await http.get(f"/v1/recordings/{recording['recording_id']}")).json()
        call = (await http.get(f"/v1/calls/{call_id}")).json()
        assert call["recording"] == {
            "recording_id": recording["recording_id"],
            "duration_s": recording["duration_s"],
            "audio_url": f"/v1/recordings/{recording['recording_id']}/audio",
        }
        download = await http.get(call["recording"]["audio_url"])
    assert download.status_code == 200 and download.headers["content-type"] == "audio/wav"
    assert recording["size_bytes"] == len(download.content)

    params, audio = read_wav(download.content)
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, RATE)
    assert (recording["channels"], recording["sample_rate"]) == (2, RATE)
    assert abs(params.nframes / RATE - recording["duration_s"]) < 0.001
    # The file runs from the moment the node told the client audio had started to the end
    # of the call, which it also tells the client: as long as the client saw the session
    # last, but for the difference between two loopback hops (measured: within 11 ms, also
    # beside another speech test). And it holds all the caller streamed (each 20 ms chunk
    # counted as it began), though the node may get to the hang-up late (seen: 0.9 s).
    lasted = listener.first_seen["session.ended"] - listener.first_seen["audio.started"]
    assert abs(recording["duration_s"] - lasted) <= 0.1, (lasted, recording)
    assert recording["duration_s"] >= streamed / RATE - 0.05, (streamed / RATE, recording)
    caller, agent = audio[:, 0], audio[:, 1]

    # The pause: where the node paused and resumed, and all of it silent on both channels.
    (span,) = recording["paused_spans"]
    start, end = round(span["start_s"] * RATE), round(span["end_s"] * RATE)
    assert asked_pause - RATE // 10 <= start <= paused_at + RATE // 10, (asked_pause, start, paused_at)
    assert asked_resume - RATE // 10 <= end <= resumed_at + RATE // 10, (asked_resume, end, resumed_at)
    assert recording["paused_s"] == round(span["end_s"] - span["start_s"], 3)
    assert not caller[start:end].any() and not agent[start:end].any()
    # ... and there was something to leave out: the caller spoke, the agent answered.
    assert start <= said_2[0] + int(0.3 * RATE) and said_2[1] <= end
    answered_in_pause = listener.audio_between(said_2[1], asked_resume)
    assert sum(samples for _, samples in answered_in_pause) / 24000 > 1.0  # a second and more of a reply

    # The caller, on the left, where (and only where) the caller spoke outside the pause.
    for (begin, stop), pcm in ((said_1, first), (said_3, after)):
        window = max(0, begin - RATE // 4)
        heard = caller[window : stop + RATE // 4]
        assert rms(heard) > LOUD
        spoken = np.frombuffer(pcm, dtype="<i2")
        assert abs(window + onset(heard) - (begin + onset(spoken))) < RATE // 20  # in its place, within 50 ms
        assert rms(agent[begin + onset(spoken) : stop]) == 0  # nothing of it on the agent's channel
    # The agent, on the right, where its first reply was played to the caller.
    played = [at for at, _ in listener.audio_between(said_1[1], replied_1)]
    heard = agent[played[0] : played[-1]]
    assert rms(heard) > LOUD and len(heard) / RATE > 1.0
    assert rms(caller[played[0] : played[-1]]) == 0  # the caller was silent meanwhile

    await runner.shutdown()
    await runner_task


async def short_call(stack, pipe_id: str) -> str:
    """Half a second of a silent caller, then the hang-up; the call's id."""
    call_id, ws, mic, listener = await voice_call(stack, pipe_id)
    await mic.until(RATE // 2)
    await hang_up(ws, mic, listener)
    return call_id


async def create_pipe(stack, agent_id: str, *, recording: bool) -> str:
    async with stack.http() as http:
        created = await http.post("/v1/pipes", json={"name": agent_id, "agent_id": agent_id, "recording": recording})
    assert created.status_code == 201, created.text
    return created.json()["pipe_id"]


async def test_only_the_project_of_a_recording_sees_it(stack):
    runner, runner_task, _ = await serve(stack, "recorded")
    call_id = await short_call(stack, await create_pipe(stack, "recorded", recording=True))
    async with stack.http() as http:
        recording = await stored_recording(http, call_id)
    # Half a second; less the part of a 32 ms VAD window the door still held at the hang-up.
    assert 0.46 <= recording["duration_s"] < 1.5 and recording["paused_spans"] == []
    mine = f"/v1/recordings/{recording['recording_id']}"

    other = await create_project_with_key(stack.node, "other")
    async with stack.http(other.api_key) as http:
        assert (await http.get("/v1/recordings")).json() == {"data": []}
        assert (await http.get("/v1/recordings", params={"call_id": call_id})).json() == {"data": []}
        for path in (mine, f"{mine}/audio", f"/v1/calls/{call_id}"):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert answer.json()["code"] == "not_found" and answer.json()["status_code"] == 404
    async with stack.http("") as http:
        for path in ("/v1/recordings", mine, f"{mine}/audio"):
            assert (await http.get(path)).status_code == 401
    async with stack.http() as http:
        assert (await http.get("/v1/recordings/rec_nope")).status_code == 404
        assert (await http.get("/v1/recordings/rec_nope/audio")).json()["code"] == "not_found"
        for params, field in (({"limit": 0}, "limit"), ({"call_id": "c" * 200}, "call_id")):
            answer = await http.get("/v1/recordings", params=params)
            assert answer.status_code == 400 and field in answer.json()["message"], answer.text
        assert (await http.get(f"{mine}/audio")).status_code == 200
    await runner.shutdown()
    await runner_task


async def test_a_pipe_that_does_not_record_leaves_no_recording(stack):
    runner, runner_task, sessions = await serve(stack, "agent")
    unrecorded = await create_pipe(stack, "agent", recording=False)
    recorded = await create_pipe(stack, "agent", recording=True)

    call_id, ws, mic, listener = await voice_call(stack, unrecorded)
    await sessions[call_id].recording.pause("pii")  # no recording to pause: a no-op
    await sessions[call_id].recording.resume()
    await sessions[call_id].say("Okay.")
    async with asyncio.timeout(10):
        await listener.next("agent.say")  # what the node sent before it has arrived
    assert not [f for _, f in listener.frames if f["type"].startswith("recording.")]
    await mic.until(RATE // 2)
    await hang_up(ws, mic, listener)

    # The next call, on a pipe that records, is stored long after the first ended.
    second = await short_call(stack, recorded)
    async with stack.http() as http:
        await stored_recording(http, second)
        assert [r["call_id"] for r in (await http.get("/v1/recordings")).json()["data"]] == [second]
        assert (await http.get(f"/v1/calls/{call_id}")).json()["recording"] is None
    events = await stack.node.store.read_subject("call", call_id)
    assert events[0].event.recording is False
    assert "call.recording_stored" not in [r.envelope.type for r in events]
    await runner.shutdown()
    await runner_task
