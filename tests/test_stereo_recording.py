"""The stereo recording on its own: where each side's audio lands in the file, what a
pause leaves, and the Pipecat taps that feed it (run through Pipecat's test runner)."""

from __future__ import annotations

import wave

import numpy as np
from pipecat.frames.frames import InputAudioRawFrame, OutputAudioRawFrame, TextFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.tests.utils import SleepFrame, run_test

from speech.recording import StereoRecording, WavFile
from speech.recording_tap import RecordingTap

RATE = 16000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tone(seconds: float, value: int, rate: int = RATE) -> bytes:
    return np.full(round(seconds * rate), value, dtype="<i2").tobytes()


def channels(wav: WavFile) -> tuple[np.ndarray, np.ndarray]:
    with wav.file, wave.open(wav.file, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert wav.duration_s == round(len(frames) / RATE, 3)  # the samples written, to the millisecond
    return frames[:, 0], frames[:, 1]


def at(seconds: float) -> int:
    return round(seconds * RATE)


def test_both_sides_land_where_they_were_heard_and_a_pause_is_silence_on_both():
    clock = Clock()
    rec = StereoRecording(clock=clock)
    rec.start()
    for step in range(150):  # 3 s: the caller streams 20 ms frames; the agent talks from 1 s to 2.5 s
        clock.now += 0.02
        if 50 <= step < 125 and step % 2 == 0:
            rec.agent(tone(0.04, 2000))
        rec.caller(tone(0.02, 1000))
        if step == 99:
            rec.pause()  # at 2.0 s
        if step == 119:
            rec.resume()  # at 2.4 s
    clock.now += 0.5  # the call ends half a second after the caller's last frame
    wav = rec.finish()
    assert (wav.duration_s, wav.channels, wav.paused_spans, wav.paused_s) == (3.5, 2, ((2.0, 2.4),), 0.4)
    caller, agent = channels(wav)
    assert (caller[: at(2.0)] == 1000).all() and (caller[at(2.4) : at(3.0)] == 1000).all()
    assert (agent[at(1.02) : at(2.0)] == 2000).all() and (agent[at(2.42) : at(2.54)] == 2000).all()
    assert not agent[: at(1.02)].any() and not agent[at(2.54) :].any()  # silent before and after it spoke
    assert not caller[at(2.0) : at(2.4)].any() and not agent[at(2.0) : at(2.4)].any()  # the pause
    assert not agent[at(2.4) : at(2.42)].any()  # played during the pause, heard just after it: not kept
    assert not caller[at(3.0) :].any()


def test_agent_audio_sent_ahead_for_after_the_end_is_not_kept():
    clock = Clock()
    rec = StereoRecording(clock=clock)
    rec.start()
    for _ in range(50):  # 1 s of the caller, the agent answering from 0.5 s
        clock.now += 0.02
        rec.caller(tone(0.02, 1000))
    clock.now -= 0.5
    for _ in range(14):  # the agent's 0.56 s: the output sends it ahead of playback
        rec.agent(tone(0.04, 2000))
    clock.now += 0.5
    wav = rec.finish()  # the caller hung up at 1.0 s, with 60 ms of it still to play
    caller, agent = channels(wav)
    assert wav.duration_s == 1.0 and (agent[at(0.5) :] == 2000).all()


def test_caller_audio_in_a_burst_is_kept_whole_and_a_real_gap_is_silence():
    clock = Clock()
    rec = StereoRecording(clock=clock)
    rec.start()
    for _ in range(50):  # 1 s at real-time pace
        clock.now += 0.02
        rec.caller(tone(0.02, 1000))
    clock.now += 0.6  # the node was busy: 0.6 s of the caller's audio arrive at once
    for _ in range(30):
        rec.caller(tone(0.02, 1000))
    for _ in range(50):  # 1 s more, in time again
        clock.now += 0.02
        rec.caller(tone(0.02, 1000))
    clock.now += 1.0  # the caller sent nothing for a second, then goes on
    for _ in range(50):
        clock.now += 0.02
        rec.caller(tone(0.02, 3000))
    caller, _ = channels(rec.finish())
    assert (caller[: at(2.6)] == 1000).all()  # nothing cut into the burst
    assert not caller[at(2.6) : at(3.6)].any()  # the gap, where it was
    assert (caller[at(3.6) : at(4.6)] == 3000).all() and len(caller) == at(4.6)


def test_late_caller_audio_the_call_ends_on_stays_where_it_arrived():
    clock = Clock()
    rec = StereoRecording(clock=clock)
    rec.start()
    clock.now += 1.0
    for _ in range(10):  # 0.2 s, a second late; nothing more comes before the end
        clock.now += 0.02
        rec.caller(tone(0.02, 1000))
    clock.now += 2.0
    caller, _ = channels(rec.finish())
    assert not caller[: at(1.0)].any() and (caller[at(1.0) : at(1.2)] == 1000).all()
    assert len(caller) == at(3.2) and not caller[at(1.2) :].any()


def test_what_is_said_during_a_pause_is_not_kept_even_when_it_lands_after_it():
    clock = Clock()
    rec = StereoRecording(clock=clock)
    rec.start()
    rec.pause()
    rec.caller(tone(1.0, 1000))  # a second of caller audio arrives at once, paused
    rec.resume()
    clock.now += 1.0
    rec.caller(tone(0.5, 2000))
    caller, _ = channels(rec.finish())
    assert not caller[: at(1.0)].any() and (caller[at(1.0) :] == 2000).all()


async def test_the_taps_record_each_side_and_pass_every_frame_on():
    rec = StereoRecording()
    rec.start()
    caller = InputAudioRawFrame(audio=tone(0.2, 1000), sample_rate=RATE, num_channels=1)
    agent = OutputAudioRawFrame(audio=tone(0.2, 2000, rate=24000), sample_rate=24000, num_channels=1)
    taps = Pipeline([RecordingTap(rec, "caller"), RecordingTap(rec, "agent")])
    await run_test(
        taps,
        # The call goes on while the agent's audio plays: what would play after the end is cut.
        frames_to_send=[caller, SleepFrame(0.3), agent, SleepFrame(0.25), TextFrame("hi")],
        expected_down_frames=[InputAudioRawFrame, OutputAudioRawFrame, TextFrame],
    )
    left, right = channels(rec.finish())
    said = np.flatnonzero(left)  # where depends on how soon the pipeline started
    assert (said == np.arange(said[0], said[0] + at(0.2))).all() and (left[said] == 1000).all()
    # The agent's 24 kHz came out at the file's rate (the resampler keeps a few ms back),
    # after the sleep between the two.
    spoke = np.flatnonzero(right)
    assert 0.18 <= len(spoke) / RATE <= 0.2 and abs(int(right[spoke].mean()) - 2000) < 50
    assert spoke[0] - said[0] >= at(0.3)
