"""The VAD on the caller's audio: Pipecat's ``VADProcessor``, run inline, which also
measures the turn's endpointing and counts caller frames the node was late with.

Endpointing is how long after the caller's voice ended the VAD called the turn over: the
VAD's ``stop_secs`` of silence, plus the windows Silero stays confident on the fading
end of a word (about 70 ms, measured on the bench's sentences), plus any time the
deciding window waited to be processed. The voice ends with the last sample above
``QUIET_PEAK``. It is counted in audio (samples from the end of the voice to the end of
the deciding window, so it means the same however fast the client sends) plus the wall
time from that window's arrival to the decision. The stop frame carries it
(``ENDPOINTING``) and when it was decided (``DECIDED_AT``) for speech.call_bridge.

Direct mode: the analysis runs inline (speech.vad), so each frame is done with before
the next one is read off the socket; a queue and a task would only add a hop a frame.
"""

from __future__ import annotations

import time

import numpy as np
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection

from speech import realtime
from speech.vad import QUIET_PEAK, voiced

#: Metadata on a VADUserStoppedSpeakingFrame: seconds from the end of the voice to the stop.
ENDPOINTING = "endpointing_s"
#: Metadata on a VADUserStoppedSpeakingFrame: when the VAD decided (time.monotonic()).
DECIDED_AT = "vad_decided_at"


class CallerVADProcessor(VADProcessor):
    def __init__(self, **kwargs) -> None:
        super().__init__(enable_direct_mode=True, speech_activity_period=realtime.HEARTBEAT_S, **kwargs)
        self._samples = 0  # samples of caller audio so far
        #: The last frame with voice in it: where it starts, and its audio. None until the
        #: utterance the VAD is in has had one (a very quiet one never may: its stop then
        #: carries nothing, and the VAD's stop_secs stands for its endpointing).
        self._last_voiced: tuple[int, bytes] | None = None
        self._window_arrived: float | None = None  # when the frame being analysed came off the socket
        self._window_rate = 16000

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InputAudioRawFrame):
            self._listen(frame)
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            realtime.input_done(frame)

    def _listen(self, frame: InputAudioRawFrame) -> None:
        if voiced(frame.audio):
            self._last_voiced = (self._samples, frame.audio)  # where in it: worked out at the stop
        self._samples += len(frame.audio) // 2
        self._window_rate = frame.sample_rate
        self._window_arrived = frame.metadata.get(realtime.ARRIVED, time.monotonic())

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM) -> None:
        if isinstance(frame, VADUserStartedSpeakingFrame) and direction == FrameDirection.DOWNSTREAM:
            self._last_voiced = None  # voice from before this utterance is not its end
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._last_voiced is not None:
            now = time.monotonic()
            in_audio = (self._samples - self._voice_end()) / self._window_rate
            frame.metadata[ENDPOINTING] = in_audio + max(0.0, now - self._window_arrived)
            frame.metadata[DECIDED_AT] = now
        await super().push_frame(frame, direction)

    def _voice_end(self) -> int:
        """The sample after the last one loud enough to be voice."""
        start, audio = self._last_voiced
        samples = np.frombuffer(audio, dtype=np.int16)
        loud = np.flatnonzero((samples > QUIET_PEAK) | (samples < -QUIET_PEAK))
        return start + int(loud[-1]) + 1
