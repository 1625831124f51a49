"""Is the node keeping up with real time? Counted process-wide, for every session.

- Caller audio is late when the VAD has finished with a 20 ms frame more than
  ``LATE_S`` after the frame arrived on the socket: the pipeline is queueing audio, and
  barge-in and end of turn are heard that much later.
- Bot audio is late when a chunk goes to the socket more than ``LATE_S`` after its slot
  in real time (the previous chunk's slot plus that chunk's length) within one
  utterance: a client playing as audio arrives hears a gap. A pause longer than
  ``NEW_UTTERANCE_S`` starts a new utterance; it is the bot being quiet, not late.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection

LATE_S = 0.040
NEW_UTTERANCE_S = 0.300
ARRIVED = "door_in_at"  # frame metadata: when the frame came off the socket (monotonic)


@dataclass
class RealtimeCounts:
    frames_in: int = 0
    late_in: int = 0
    frames_out: int = 0
    late_out: int = 0
    worst_in_s: float = 0.0
    worst_out_s: float = 0.0

    def reset(self) -> None:
        self.__init__()


#: Every session of this process adds to these.
COUNTS = RealtimeCounts()


def input_arrived(frame: InputAudioRawFrame) -> None:
    frame.metadata[ARRIVED] = time.monotonic()


def output_sent(lateness_s: float) -> None:
    COUNTS.frames_out += 1
    if lateness_s > LATE_S:
        COUNTS.late_out += 1
    COUNTS.worst_out_s = max(COUNTS.worst_out_s, lateness_s)


class TimedVADProcessor(VADProcessor):
    """Pipecat's VAD processor, also counting how long each caller frame took from the
    socket through it (here rather than in a processor of its own: one hop less a frame).

    Direct: the analysis runs inline (speech.vad), so the frame is done with before the
    next one is read off the socket; a queue and a task would only add a hop a frame."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and ARRIVED in frame.metadata:
            lag = time.monotonic() - frame.metadata[ARRIVED]
            COUNTS.frames_in += 1
            if lag > LATE_S:
                COUNTS.late_in += 1
            COUNTS.worst_in_s = max(COUNTS.worst_in_s, lag)
