"""The pipeline's edge towards the call: a final transcript is the caller's turn.

It goes to ``on_turn`` (the call session, which records it and sends ``user.text``
to the runner) and is not passed on; everything else flows through. The agent's
words come back into the pipeline from the call session (see speech.session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class TranscriptToCall(FrameProcessor):
    def __init__(self, on_turn: Callable[[str], Awaitable[None]], **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_turn = on_turn

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and direction == FrameDirection.DOWNSTREAM:
            if frame.text.strip():
                await self._on_turn(frame.text)
            return
        await self.push_frame(frame, direction)
