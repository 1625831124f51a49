"""Where the pipeline's audio goes into the call's recording: one tap right after the
door's input (the caller, as it arrives, before VAD and STT can hold it up) and one
right after the door's output (the agent: the output passes a chunk on as it sends it,
a little ahead of playback (speech.playout), and never passes on what an interruption
dropped; the recording plays each chunk after the one before).

Pipecat's ``AudioBufferProcessor`` (1.14) records both sides too, but it did not
fit: it sees both from one place in the pipeline and aligns each side to how much
audio the other has (padding the one behind), which cuts silence into the caller's
words when they arrive in bursts while the agent talks (measured: 80 ms in 3 s of
120 ms bursts; its guard against that needs user-turn frames this pipeline does not
have); it hands the audio out from memory; and it has no pause. The recording here
places both sides on one clock and writes silence for a pause (speech.recording).
"""

from __future__ import annotations

from typing import Literal

from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from speech.recording import StereoRecording


class RecordingTap(FrameProcessor):
    def __init__(self, recording: StereoRecording, side: Literal["caller", "agent"], **kwargs) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)  # a copy into memory: no hop of its own
        self._recording = recording
        self._kind = InputAudioRawFrame if side == "caller" else OutputAudioRawFrame
        self._write = recording.caller if side == "caller" else recording.agent
        # The agent may speak at any output rate; the file has one. A stream resampler
        # holds back the end of what it was given, which is lost when it resets between
        # utterances: 16 ms at "HQ", 60 ms at the default "VHQ". HQ is plenty for speech.
        self._resampler = create_stream_resampler(quality="HQ")

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, self._kind) and direction == FrameDirection.DOWNSTREAM:
            self._write(await self._resampler.resample(frame.audio, frame.sample_rate, self._recording.rate))
        await self.push_frame(frame, direction)
