"""The pipeline's edge towards the call: a final transcript is the caller's turn.

It goes to ``on_turn`` (the call session, which records it and sends ``user.text``
to the runner) with how long the speech side took: endpointing, the silence the VAD
waited for before it called the turn over (its ``stop_secs``), and STT, from that call
to the final transcript. The transcript is not passed on; everything else flows
through. The agent's words come back into the pipeline from the call session (see
speech.session).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import Frame, TranscriptionFrame, VADUserStoppedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

#: (text, endpointing_ms, stt_ms)
OnTurn = Callable[[str, float, float], Awaitable[None]]


class TranscriptToCall(FrameProcessor):
    def __init__(self, on_turn: OnTurn, **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_turn = on_turn
        self._stopped_at: float | None = None
        self._stop_secs = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._stopped_at, self._stop_secs = time.monotonic(), frame.stop_secs
        elif isinstance(frame, TranscriptionFrame) and direction == FrameDirection.DOWNSTREAM:
            if frame.text.strip():
                await self._on_turn(frame.text, *self._timings())
            return
        await self.push_frame(frame, direction)

    def _timings(self) -> tuple[float, float]:
        """0 and 0 for a transcript the VAD did not call (an STT that finalises on its own)."""
        if self._stopped_at is None:
            return 0.0, 0.0
        stt_ms = 1000 * (time.monotonic() - self._stopped_at)
        self._stopped_at = None
        return round(1000 * self._stop_secs, 3), round(stt_ms, 3)
