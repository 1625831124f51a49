"""Barge-in: the caller talking over the bot stops the bot.

Placed after the VAD. While the bot is speaking, caller speech that lasts at least
``min_speech_s`` (a policy per pipe) interrupts: an ``InterruptionFrame`` goes both
ways (TTS drops the rest, the output transport drops queued audio and tells the
client to clear its buffer) and ``on_barge_in`` tells the call. Shorter sounds, a
cough or an "mm-hm", do not cut the bot off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bus_contracts.events import DEFAULT_BARGE_IN_S


class BargeIn(FrameProcessor):
    def __init__(
        self, on_barge_in: Callable[[], Awaitable[None]], *, min_speech_s: float = DEFAULT_BARGE_IN_S, **kwargs
    ) -> None:
        # Direct: it only looks at frames, so a queue and a task of its own would cost
        # each caller frame a hop for nothing.
        super().__init__(enable_direct_mode=True, **kwargs)
        self._on_barge_in = on_barge_in
        self.min_speech_s = min_speech_s
        self._bot_speaking = False
        #: Seconds of caller audio since the VAD heard speech start (None: silent).
        #: Counted in audio, not wall time, so it means the same however audio arrives.
        self._speech_s: float | None = None
        self._fired = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._speech_s = frame.start_secs  # the VAD confirmed speech this long after it began
            self._fired = False
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speech_s = None
        elif isinstance(frame, InputAudioRawFrame) and self._speech_s is not None:
            self._speech_s += len(frame.audio) / 2 / frame.sample_rate / frame.num_channels
        if isinstance(frame, InputAudioRawFrame | VADUserStartedSpeakingFrame) and self._should_interrupt():
            self._fired = True
            await self.push_frame(frame, direction)
            await self.broadcast_interruption()
            await self._on_barge_in()
            return
        await self.push_frame(frame, direction)

    def _should_interrupt(self) -> bool:
        if not self._bot_speaking or self._speech_s is None or self._fired:
            return False
        return self._speech_s >= self.min_speech_s
