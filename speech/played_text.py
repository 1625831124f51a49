"""What the caller has actually heard: the output transport passes each spoken text
frame on once the audio before it has been played, so a processor after it sees
the bot's words at the pace the caller hears them."""

from __future__ import annotations

from collections.abc import Callable

from pipecat.frames.frames import Frame, TTSTextFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class PlayedText(FrameProcessor):
    def __init__(self, on_played: Callable[[str], None], **kwargs) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)  # it only looks: no hop of its own
        self._on_played = on_played

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSTextFrame) and direction == FrameDirection.DOWNSTREAM:
            self._on_played(frame.text)
        await self.push_frame(frame, direction)
