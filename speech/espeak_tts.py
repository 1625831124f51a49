"""The last-resort voice: espeak-ng (Debian's ``espeak-ng`` package), a process per
utterance. Robotic, but it starts instantly, needs no model, and runs where nothing
else does, which is what the end of a failover chain is for."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncGenerator, AsyncIterator

from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService

from speech.providers import LOCAL_FIRST_AUDIO_TIMEOUT_S

DEFAULT_VOICE = "en-us"
WAV_HEADER = 44  # espeak-ng --stdout writes a plain 44-byte RIFF header, then PCM16 mono


def executable() -> str | None:
    return shutil.which("espeak-ng")


class EspeakTTSService(TTSService):
    def __init__(self, *, voice: str = DEFAULT_VOICE, words_per_minute: int = 165, **kwargs) -> None:
        settings = TTSSettings(model="espeak-ng", voice=voice, language="en-US")
        kwargs.setdefault("stop_frame_timeout_s", LOCAL_FIRST_AUDIO_TIMEOUT_S)
        super().__init__(push_start_frame=True, push_stop_frames=True, settings=settings, **kwargs)
        self._voice_name = voice
        self._wpm = words_per_minute

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        await self.start_tts_usage_metrics(text)
        try:
            proc = await asyncio.create_subprocess_exec(
                executable() or "espeak-ng", "-v", self._voice_name, "-s", str(self._wpm), "--stdout", "--", text,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            yield ErrorFrame(error=f"espeak-ng failed to start: {exc}")
            return
        try:
            header = await proc.stdout.readexactly(WAV_HEADER)
            rate = int.from_bytes(header[24:28], "little")
            async for frame in self._stream_audio_frames_from_iterator(
                _pcm(proc.stdout), in_sample_rate=rate, context_id=context_id
            ):
                await self.stop_ttfb_metrics()
                yield frame
            if await proc.wait() != 0:
                yield ErrorFrame(error=f"espeak-ng exited with {proc.returncode}: {(await proc.stderr.read())[:200]!r}")
        except asyncio.IncompleteReadError:
            yield ErrorFrame(error=f"espeak-ng produced no audio: {(await proc.stderr.read())[:200]!r}")
        finally:
            if proc.returncode is None:  # cancelled mid-utterance (barge-in): stop it
                proc.kill()
                await proc.wait()
            await self.stop_ttfb_metrics()


async def _pcm(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while chunk := await stream.read(4096):
        yield chunk
