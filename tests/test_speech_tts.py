"""Offline TTS in a real Pipecat pipeline: the shared Piper voice speaks, and what it
says comes back through PocketSphinx as the same words."""

from __future__ import annotations

import os

from pipecat.frames.frames import ErrorFrame, TTSAudioRawFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import run_test

from speech.espeak_tts import EspeakTTSService, executable
from speech.piper_tts import LocalPiperTTSService
from speech.pocketsphinx_stt import transcribe
from tests.test_speech_stt import words_right

TEXT = "what is the weather like in boston today"


async def spoken(tts) -> tuple[bytes, list]:
    """What ``tts`` says of TEXT in a real pipeline at 16 kHz: its PCM, and any errors."""
    down, up = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame(TEXT)],
        pipeline_params=PipelineParams(audio_out_sample_rate=16000),
        start_timeout=10,
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio and {f.sample_rate for f in audio} == {16000}  # resampled to the output rate
    return b"".join(f.audio for f in audio), [f for f in up if isinstance(f, ErrorFrame)]


async def test_piper_speaks_offline_at_the_output_rate_and_is_understood():
    pcm, errors = await spoken(LocalPiperTTSService())
    assert not errors and 1.5 < len(pcm) / 32000 < 6  # seconds of speech
    heard = transcribe(pcm + bytes(16000))
    assert words_right(heard, TEXT) >= 0.7, heard  # Piper varies its delivery; STT may miss a word or two


async def test_espeak_the_last_resort_speaks_and_is_understood():
    pcm, errors = await spoken(EspeakTTSService())  # from espeak's 22.05 kHz
    assert not errors and 1.5 < len(pcm) / 32000 < 6
    heard = transcribe(pcm + bytes(16000))
    assert words_right(heard, TEXT) >= 0.6, heard  # robotic, but intelligible


async def test_a_local_voice_slow_to_start_is_still_heard(tmp_path, monkeypatch):
    # espeak-ng started on a busy machine: its first audio 4 s after the text, later
    # than Pipecat waits by default (3 s) before it gives an utterance up as silent.
    slow = tmp_path / "espeak-ng"
    slow.write_text(f"#!/bin/sh\nsleep 4\nexec {executable()} \"$@\"\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    pcm, errors = await spoken(EspeakTTSService())
    assert not errors and 1.5 < len(pcm) / 32000 < 6
