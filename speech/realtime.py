"""Is the node keeping up with real time? Counted process-wide, for every session.

- Caller audio is late when the VAD has finished with a frame (a 32 ms window) more
  than ``LATE_S`` after the frame was complete off the socket (read by the node's
  WebSocket protocol, api.ws_protocol: the wait for the door's task to take it up
  counts): the node is queueing audio, and barge-in and end of turn are heard that
  much later.
- Bot audio is late when a chunk leaves for the client after it should have: when the
  client, playing as audio arrives, would have less than ``speech.playout.MARGIN_S``
  left to play (speech.playout: the node sends ``LEAD_S`` ahead, so a stall shorter
  than their difference is not late).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pipecat.frames.frames import InputAudioRawFrame

LATE_S = 0.040
#: How often Pipecat's heartbeats (UserSpeakingFrame from the VAD, BotSpeakingFrame from
#: the output) go through the pipeline while the caller or the bot speaks: Pipecat's 0.2 s
#: made them as many frame hops per call as the caller's audio. Nothing here watches them
#: (Pipecat's idle timeout, which does, is off: the call decides when a session ends).
HEARTBEAT_S = 1.0
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


def input_arrived(frame: InputAudioRawFrame, at: float) -> None:
    """The frame was complete off the socket at ``at`` (time.monotonic())."""
    frame.metadata[ARRIVED] = at


def output_sent(lateness_s: float) -> None:
    """A bot chunk left ``lateness_s`` after it should have (0: on time)."""
    COUNTS.frames_out += 1
    if lateness_s > 0:
        COUNTS.late_out += 1
    COUNTS.worst_out_s = max(COUNTS.worst_out_s, lateness_s)


def input_done(frame: InputAudioRawFrame) -> None:
    """The VAD has finished with a caller frame."""
    if ARRIVED in frame.metadata:
        lag = time.monotonic() - frame.metadata[ARRIVED]
        COUNTS.frames_in += 1
        if lag > LATE_S:
            COUNTS.late_in += 1
        COUNTS.worst_in_s = max(COUNTS.worst_in_s, lag)
