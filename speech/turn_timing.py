"""Where the TTS's time to first byte is measured.

``TTSOutTiming`` sits after TTS, before the output transport paces the audio out: it sees
each chunk as the TTS produces it, so time to first byte is the TTS's, not the time
spent behind audio that is still playing.
"""

from __future__ import annotations

from collections.abc import Callable

from pipecat.frames.frames import Frame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class TTSOutTiming(FrameProcessor):
    def __init__(self, on_audio: Callable[[], None], **kwargs) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)  # it only looks: no hop of its own
        self._on_audio = on_audio

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self._on_audio()
        await self.push_frame(frame, direction)
