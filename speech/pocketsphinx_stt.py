"""Offline speech-to-text: CMU PocketSphinx with the en-US model that ships inside
the ``pocketsphinx`` wheel (nothing is downloaded, ever).

A Pipecat ``SegmentedSTTService``: the VAD in front of it cuts the caller's speech
into utterances, and each utterance is decoded in a worker thread, off the loop.
"""

from __future__ import annotations

import asyncio
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
        self._decoder = None

    @property
    def wants_wav_segments(self) -> bool:
        """Segments arrive as raw 16-bit PCM, which the decoder reads directly."""
        return False

    def can_generate_metrics(self) -> bool:
        return True

    async def start(self, frame) -> None:
        await super().start(frame)
        if self._decoder is None:  # load now, in a thread, not on the caller's first words
            self._decoder = await asyncio.to_thread(self._load)

    def _load(self):
        from pocketsphinx import Decoder  # imported here: 0.3 s of model loading follows

        return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def _decode(self, audio: bytes) -> str:
        if self._decoder is None:
            self._decoder = self._load()
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr.strip() if hypothesis is not None else ""

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_processing_metrics()
        try:
            # One decoder per session, used by one thread at a time: segments are
            # transcribed in order by the base class's single transcription task.
            text = await asyncio.to_thread(self._decode, audio)
        except Exception as exc:  # a broken decoder is a provider failure, reported as such
            await self.stop_processing_metrics()
            yield ErrorFrame(f"pocketsphinx failed: {exc}")
            return
        await self.stop_processing_metrics()
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN_US)
