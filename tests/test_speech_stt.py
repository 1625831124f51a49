"""Offline STT in a real Pipecat pipeline: Silero VAD cuts the caller's speech (real
speech, synthesised with the Piper voice) and PocketSphinx transcribes each utterance."""

from __future__ import annotations

import asyncio
import os
import signal

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import InputAudioRawFrame, TranscriptionFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.tests.utils import run_test

from speech.pocketsphinx_stt import DECODERS, PocketsphinxSTTService, transcribe
from tests.speech_audio import chunks, silence, speech


def words_right(heard: str, said: str) -> float:
    said_words = said.split()
    heard_words = set(heard.lower().split())
    return sum(w in heard_words for w in said_words) / len(said_words)


async def test_each_utterance_is_transcribed_offline():
    said = ["what is the weather like in boston today", "please book a table for two at seven"]
    pcm = silence(0.5) + speech(said[0]) + silence(1.5) + speech(said[1]) + silence(1.5)
    frames = [InputAudioRawFrame(audio=c, sample_rate=16000, num_channels=1) for c in chunks(pcm)]
    pipeline = Pipeline([VADProcessor(vad_analyzer=SileroVADAnalyzer()), PocketsphinxSTTService()])
    down, _ = await run_test(
        pipeline,
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=16000),
        start_timeout=10,
    )
    heard = [f.text for f in down if isinstance(f, TranscriptionFrame)]
    assert len(heard) == 2, heard
    for h, s in zip(heard, said, strict=True):
        assert words_right(h, s) >= 0.8, (h, s)  # STT may miss a word


async def test_silence_and_noise_are_not_turns():
    import numpy as np

    noise = (np.random.default_rng(7).normal(0, 300, 16000 * 2)).astype(np.int16).tobytes()
    frames = [InputAudioRawFrame(audio=c, sample_rate=16000, num_channels=1) for c in chunks(silence(1) + noise)]
    pipeline = Pipeline([VADProcessor(vad_analyzer=SileroVADAnalyzer()), PocketsphinxSTTService()])
    down, _ = await run_test(
        pipeline, frames_to_send=frames, pipeline_params=PipelineParams(audio_in_sample_rate=16000), start_timeout=10
    )
    assert [f for f in down if isinstance(f, TranscriptionFrame)] == []


def test_decoders_are_pooled_not_loaded_per_utterance():
    pcm = speech("what is the weather like in boston today") + silence(0.5)
    transcribe(pcm)
    loaded = DECODERS.loaded
    for _ in range(3):
        assert words_right(transcribe(pcm), "what is the weather like in boston today") >= 0.7
    assert DECODERS.loaded == loaded  # one after another, the same decoder serves


async def test_a_decode_leaves_the_event_loop_free():
    said = "i would like to book a table for two people tomorrow evening please"
    pcm = speech(said) + silence(0.5)
    DECODERS.give_back(DECODERS.take())  # loaded before: only the decode is watched
    decoding = asyncio.ensure_future(asyncio.to_thread(transcribe, pcm))
    turns = 0
    while not decoding.done():
        await asyncio.sleep(0.01)
        turns += 1
    assert words_right(await decoding, said) >= 0.8
    # A decode takes 0.3-0.7 s here. PocketSphinx holds the GIL for all of it: decoded in
    # a thread of this process, the loop (every call's audio on a node) would not turn.
    assert turns >= 10


def test_a_decoder_process_that_dies_fails_its_utterance_and_is_replaced():
    pcm = speech("what is the weather like in boston today") + silence(0.5)
    decoder = DECODERS.take()
    os.kill(decoder.pid, signal.SIGKILL)
    DECODERS.give_back(decoder)  # the next utterance gets it
    with pytest.raises(RuntimeError, match="died"):
        transcribe(pcm)
    assert words_right(transcribe(pcm), "what is the weather like in boston today") >= 0.7


async def test_the_shared_vad_hears_each_utterance_and_skips_the_silence_between():
    from pipecat.frames.frames import VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame
    from pipecat.processors.audio.vad_processor import VADProcessor

    from speech.vad import SharedSileroVAD

    said = ["what is the weather like in boston today", "please book a table for two at seven"]
    pcm = silence(0.5) + speech(said[0]) + silence(3.0) + speech(said[1]) + silence(1.0)
    frames = [InputAudioRawFrame(audio=c, sample_rate=16000, num_channels=1) for c in chunks(pcm, ms=32)]
    vad = SharedSileroVAD()
    down, _ = await run_test(
        VADProcessor(vad_analyzer=vad),
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=16000),
        start_timeout=10,
    )
    events = [type(f) for f in down if isinstance(f, VADUserStartedSpeakingFrame | VADUserStoppedSpeakingFrame)]
    assert events == [VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame] * 2
    assert vad.windows_scored < 0.75 * len(frames)  # the silences were not put to the model


def vad_transitions(vad, pcm: bytes) -> list[tuple[int, str]]:
    """(window, state) at each change of the VAD's state, 32 ms windows."""
    changes, state = [], None
    for i, window in enumerate(chunks(pcm, ms=32)):
        now = vad._run_analyzer(window).name
        if now != state:
            changes.append((i, now))
            state = now
    return changes


def test_the_shared_vad_decides_as_pipecats_silero_does():
    """What the shared VAD leaves out (the model on quiet windows, the loudness on windows
    the model is not confident of) does not change what it decides: on speech, pauses,
    low noise and a loud noise burst, its state changes are Pipecat's, within a window."""
    from speech.vad import SharedSileroVAD

    rng = np.random.default_rng(7)

    def noise(seconds: float, level: int) -> bytes:
        return rng.normal(0, level, int(seconds * 16000)).clip(-32768, 32767).astype(np.int16).tobytes()

    pcm = (
        silence(0.4) + speech("what is the weather like in boston today") + noise(1.2, 60)
        + speech("yes") + silence(0.3) + speech("please book a table for two at seven") + noise(0.8, 4000)
        + silence(2.0) + speech("thank you") + silence(1.0)
    )  # fmt: skip
    ours, pipecats = SharedSileroVAD(), SileroVADAnalyzer()
    for vad in (ours, pipecats):
        vad.set_sample_rate(16000)
    theirs = vad_transitions(pipecats, pcm)
    mine = vad_transitions(ours, pcm)
    assert [s for _, s in mine] == [s for _, s in theirs]
    assert all(abs(a - b) <= 1 for (a, _), (b, _) in zip(mine, theirs, strict=True)), (mine, theirs)
    assert sum(s == "SPEAKING" for _, s in theirs) >= 4  # the utterances were heard at all
    assert ours.windows_scored < 0.8 * len(chunks(pcm, ms=32))


async def test_endpointing_is_measured_from_the_end_of_the_voice():
    """The stop carries how long after the caller's voice ended the VAD called it: its
    0.2 s of silence and the windows Silero stays confident on the fading end of the word."""
    from pipecat.frames.frames import VADUserStoppedSpeakingFrame

    from speech.caller_vad import ENDPOINTING, CallerVADProcessor
    from speech.vad import SharedSileroVAD

    pcm = silence(0.5) + speech("what is the weather like in boston today") + silence(1.0)
    frames = [InputAudioRawFrame(audio=c, sample_rate=16000, num_channels=1) for c in chunks(pcm, ms=32)]
    down, _ = await run_test(
        CallerVADProcessor(vad_analyzer=SharedSileroVAD()),
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=16000),
        start_timeout=10,
    )
    (stop,) = [f for f in down if isinstance(f, VADUserStoppedSpeakingFrame)]
    assert 0.2 < stop.metadata[ENDPOINTING] < 0.35, stop.metadata
