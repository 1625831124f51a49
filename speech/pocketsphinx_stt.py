"""Offline speech-to-text: CMU PocketSphinx with the en-US model that ships inside
the ``pocketsphinx`` wheel (nothing is downloaded, ever).

A Pipecat ``SegmentedSTTService``: the VAD in front of it cuts the caller's speech
into utterances, and each utterance is decoded in a decoder process
(speech.sphinx_worker), never in the node's: PocketSphinx holds the GIL for a whole
decode (0.4-0.6 s for a 3.7 s utterance), which in a thread of the node held every
call's audio that long.

Decoder processes are pooled per node process, not owned by sessions: loading one costs
0.3-1 s of CPU and tens of MB, while a session decodes for a fraction of its time. The
pool holds as many as have ever been decoding at once; a session borrows one per
utterance.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import select
import struct
import subprocess
import sys
import threading
from collections.abc import AsyncGenerator
from pathlib import Path

from pipecat.frames.frames import ErrorFrame, Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from speech import sphinx_worker
from speech.sphinx_worker import SAMPLE_RATE

WORKER = Path(sphinx_worker.__file__)
LOAD_TIMEOUT_S = 30.0
#: PocketSphinx decodes at 0.1-0.2 of real time: far below this for any utterance.
DECODE_TIMEOUT_S = 30.0


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


class SphinxProcess:
    """One decoder in its own process (speech.sphinx_worker), decoding one utterance at
    a time. Driven from a worker thread: its pipes block, without the GIL."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        self.pid = self._proc.pid
        self._answer(1, LOAD_TIMEOUT_S)  # its b"R": the model is loaded

    def decode(self, pcm: bytes) -> str:
        request = memoryview(struct.pack("<I", len(pcm)) + pcm)
        try:
            while request:  # its stdin is unbuffered: a write may take part of it
                request = request[self._proc.stdin.write(request) :]
        except OSError:
            self.close()
            raise RuntimeError("the decoder process died") from None
        size = struct.unpack("<I", self._answer(4, DECODE_TIMEOUT_S))[0]
        return self._answer(size, DECODE_TIMEOUT_S).decode()

    def _answer(self, n: int, timeout_s: float) -> bytes:
        data = b""
        while len(data) < n:
            ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
            chunk = self._proc.stdout.read(n - len(data)) if ready else None
            if not chunk:
                self.close()
                raise RuntimeError("the decoder process " + ("timed out" if not ready else "died"))
            data += chunk
        return data

    def close(self) -> None:
        """Closing its stdin ends it; one that does not end at once is killed."""
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()


class DecoderPool:
    """The process's decoder processes: as many as have ever been decoding at once."""

    def __init__(self) -> None:
        self._idle: list[SphinxProcess] = []
        self._lock = threading.Lock()
        #: How many decoder processes this process has started.
        self.loaded = 0
        atexit.register(self.close)

    def take(self) -> SphinxProcess:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.loaded += 1
        return SphinxProcess()  # 0.3-1 s: the model loads in it

    def give_back(self, decoder: SphinxProcess) -> None:
        with self._lock:
            self._idle.append(decoder)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for decoder in idle:
            decoder.close()


DECODERS = DecoderPool()


def transcribe(pcm: bytes) -> str:
    """The words in ``pcm`` (16 kHz 16-bit mono), decoded in a decoder process; the
    calling thread waits for it. A decoder that fails is closed, not given back."""
    decoder = DECODERS.take()
    text = decoder.decode(pcm)  # raises, the decoder closed, if it died or timed out
    DECODERS.give_back(decoder)
    return text
