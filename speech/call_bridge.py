"""The pipeline's edge towards the call: a final transcript is the caller's turn.

It goes to ``on_turn`` (the call session, which records it and sends ``user.text``
to the runner) with how long the speech side took: endpointing, from the end of the
caller's voice to the VAD calling the turn over (measured by speech.caller_vad; the
VAD's ``stop_secs`` where it could not be), and STT, from that call to the final
transcript. The transcript is not passed on; everything else flows
through. The agent's words come back into the pipeline from the call session (see
speech.session).

One turn per utterance, as the VAD delimits it: a streaming STT (Deepgram) may
finalise pieces of a sentence while the caller is still speaking; those are held and
go out with the piece that comes after the VAD has called the turn over (or, if none
comes, ``LATE_PIECES_S`` after it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    Frame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from speech.caller_vad import DECIDED_AT, ENDPOINTING

#: (text, endpointing_ms, stt_ms)
OnTurn = Callable[[str, float, float], Awaitable[None]]
#: How long pieces finalised mid-utterance wait for the last piece after the VAD's stop.
LATE_PIECES_S = 1.0


class TranscriptToCall(FrameProcessor):
    def __init__(self, on_turn: OnTurn, **kwargs) -> None:
        # Direct: frames are handled in the order they were pushed. Queued, the VAD's stop
        # (a system frame) overtook a transcript piece finalised before it (a data frame),
        # and one utterance went out as two turns.
        super().__init__(enable_direct_mode=True, **kwargs)
        self._on_turn = on_turn
        self._stopped_at: float | None = None
        self._endpointing_s = 0.0
        self._speaking = False
        #: Pieces of the current utterance finalised while the caller was still speaking.
        self._pieces: list[str] = []
        self._flush: asyncio.TimerHandle | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._speaking, self._stopped_at = True, None
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speaking = False
            self._stopped_at = frame.metadata.get(DECIDED_AT, time.monotonic())
            self._endpointing_s = frame.metadata.get(ENDPOINTING, frame.stop_secs)
            if self._pieces:  # if no last piece comes, what was heard is the turn
                self._flush = asyncio.get_running_loop().call_later(LATE_PIECES_S, self._flush_pieces)
        elif isinstance(frame, TranscriptionFrame) and direction == FrameDirection.DOWNSTREAM:
            if frame.text.strip():
                self._pieces.append(frame.text.strip())
                if not self._speaking:
                    await self._turn()
            return
        await self.push_frame(frame, direction)

    async def _turn(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        text, self._pieces = " ".join(self._pieces), []
        await self._on_turn(text, *self._timings())

    def _flush_pieces(self) -> None:
        self._flush = None
        if self._pieces and not self._speaking:
            self.create_task(self._turn(), name="late-transcript")

    def _timings(self) -> tuple[float, float]:
        """0 and 0 for a transcript the VAD did not call (an STT that finalises on its own)."""
        if self._stopped_at is None:
            return 0.0, 0.0
        stt_ms = 1000 * (time.monotonic() - self._stopped_at)
        self._stopped_at = None
        return round(1000 * self._endpointing_s, 3), round(stt_ms, 3)
