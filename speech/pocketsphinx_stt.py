"""Offline speech-to-text: CMU PocketSphinx with the en-US model that ships inside
the ``pocketsphinx`` wheel (nothing is downloaded, ever).

A Pipecat ``SegmentedSTTService``: the VAD in front of it cuts the caller's speech
into utterances, and each utterance is decoded in a worker thread, off the loop.

Decoders are pooled per process, not owned by sessions: loading one costs 0.4-1 s of
CPU and tens of MB, while a session decodes for a fraction of its time. The pool holds
as many as have ever been decoding at once; a session borrows one per utterance.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator

from pipecat.frames.frames import ErrorFrame, Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

#: The shipped acoustic model is trained on 16 kHz audio.
SAMPLE_RATE = 16000


class PocketsphinxSTTService(SegmentedSTTService):
    """Decode each VAD-delimited utterance with PocketSphinx (en-US only)."""

    def __init__(self, **kwargs) -> None:
        settings = STTSettings(model="pocketsphinx-en-us", language=Language.EN_US)
        kwargs.setdefault("ttfs_p99_latency", 0.8)  # measured here: 0.2-0.7 s an utterance
        super().__init__(sample_rate=SAMPLE_RATE, settings=settings, **kwargs)

    @property
    def wants_wav_segments(self) -> bool:
        """Segments arrive as raw 16-bit PCM, which the decoder reads directly."""
        return False

    def can_generate_metrics(self) -> bool:
        return True

    async def start(self, frame) -> None:
        await super().start(frame)
        if not DECODERS.loaded:  # the process's first: load it now, not on the caller's first words
            DECODERS.give_back(await asyncio.to_thread(DECODERS.take))

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_processing_metrics()
        try:
            text = await asyncio.to_thread(transcribe, audio)
        except Exception as exc:  # a broken decoder is a provider failure, reported as such
            await self.stop_processing_metrics()
            yield ErrorFrame(f"pocketsphinx failed: {exc}")
            return
        await self.stop_processing_metrics()
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN_US)


class DecoderPool:
    def __init__(self) -> None:
        self._idle: list = []
        self._lock = threading.Lock()
        #: How many decoders this process has loaded.
        self.loaded = 0

    def take(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.loaded += 1
        from pocketsphinx import Decoder  # imported here: 0.3 s of model loading follows

        return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def give_back(self, decoder) -> None:
        with self._lock:
            self._idle.append(decoder)


DECODERS = DecoderPool()


def transcribe(pcm: bytes) -> str:
    """The words in ``pcm`` (16 kHz 16-bit mono), decoded in the calling thread."""
    decoder = DECODERS.take()
    try:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
    finally:
        DECODERS.give_back(decoder)
    return hypothesis.hypstr.strip() if hypothesis is not None else ""
