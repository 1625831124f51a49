"""A Pipecat transport for door 1, the client WebSocket that the API owns.

The door reads the socket (it also carries JSON control frames), so the input side
does not read: the door feeds it caller PCM with :meth:`DoorInput.feed`. The output
side writes the bot's PCM to the socket as binary frames, paced like a sound card
(so "what was played" is known when the caller barges in), and tells the client to
drop what it has buffered when an interruption stops the bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    BotSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from speech import realtime
from speech.playout import ClientPlayout

#: Silero's window at 16 kHz (256 at 8 kHz: the same 32 ms).
VAD_WINDOW_SAMPLES = 512

SendBytes = Callable[[bytes], Awaitable[None]]
SendJson = Callable[[dict], Awaitable[None]]


class DoorInput(BaseInputTransport):
    """Caller audio goes into the pipeline in frames of the VAD's window (512 samples at
    16 kHz, 32 ms), whatever size the client sends: the VAD decides nothing before a
    whole window is in, and every frame costs a hop through each processor, so 20 ms
    frames would cost half as much again for nothing."""

    def __init__(self, params: TransportParams, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._rate = params.audio_in_sample_rate or 16000
        self._frame_bytes = 2 * VAD_WINDOW_SAMPLES * self._rate // 16000
        self._pending = bytearray()

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def feed(self, pcm: bytes, read_at: float | None = None) -> None:
        """Caller audio from the socket: 16-bit little-endian mono PCM at the input rate,
        read off it at ``read_at`` (time.monotonic(); now if not known)."""
        read_at = time.monotonic() if read_at is None else read_at
        self._pending.extend(pcm)
        size = self._frame_bytes
        while len(self._pending) >= size:
            frame = InputAudioRawFrame(audio=bytes(self._pending[:size]), sample_rate=self._rate, num_channels=1)
            del self._pending[:size]
            realtime.input_arrived(frame, read_at)  # complete with the bytes read last
            await self.push_audio_frame(frame)

    async def push_audio_frame(self, frame: InputAudioRawFrame) -> None:
        """Pushed on at once. Pipecat queues each frame for an audio task that takes it
        off under a fresh timeout (a task and a timer a frame): a hop that buys nothing
        here, where the door's socket reader is already a task of its own."""
        if not self._paused:
            await self.push_frame(frame)

    def _create_audio_task(self) -> None:
        """No audio task: see :meth:`push_audio_frame`."""


class DoorOutput(BaseOutputTransport):
    """Pipecat's output transport passes each chunk of audio it played on downstream,
    for whatever records it. Here that is only the agent's recording tap: with
    ``pass_played_audio`` off (a call not recorded) played audio stops here, 25 chunks
    a second of the bot's speech that would each cost a hop through every processor
    after this one. And the bot-speaking heartbeat goes out once per
    ``realtime.HEARTBEAT_S``."""

    def __init__(
        self,
        params: TransportParams,
        send_bytes: SendBytes,
        send_json: SendJson,
        *,
        pass_played_audio: bool,
        **kwargs,
    ) -> None:
        super().__init__(params, **kwargs)
        self._send_bytes = send_bytes
        self._send_json = send_json
        self._pass_played_audio = pass_played_audio
        self._heartbeat_at = -realtime.HEARTBEAT_S  # when the last BotSpeakingFrame went out
        self._playout = ClientPlayout()
        #: Set when the start reached the end of the pipeline: every processor is up
        #: (models loaded), so audio fed from now on is heard.
        self.ready = asyncio.Event()

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        self.ready.set()

    async def process_frame(self, frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            self._playout.clear()
            await self._send_json({"type": "playback.clear"})  # drop what the client has buffered

    async def broadcast_frame(self, frame_cls: type[Frame], **kwargs) -> None:
        if frame_cls is BotSpeakingFrame:
            now = time.monotonic()
            if now - self._heartbeat_at < realtime.HEARTBEAT_S:
                return
            self._heartbeat_at = now
        await super().broadcast_frame(frame_cls, **kwargs)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM) -> None:
        if (
            not self._pass_played_audio
            and direction is FrameDirection.DOWNSTREAM
            and isinstance(frame, OutputAudioRawFrame)
        ):
            return
        await super().push_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        seconds = len(frame.audio) / 2 / frame.num_channels / frame.sample_rate
        try:
            await self._send_bytes(frame.audio)
        except Exception:  # the client is gone; the door ends the session
            return False
        now = time.monotonic()
        lateness = self._playout.send(seconds, now)
        if lateness is not None:
            realtime.output_sent(lateness)
        wait = self._playout.wait_s(now)
        if wait > 0:
            await asyncio.sleep(wait)
        return True


class DoorTransport(BaseTransport):
    def __init__(
        self, params: TransportParams, send_bytes: SendBytes, send_json: SendJson, *, pass_played_audio: bool
    ) -> None:
        super().__init__()
        self._input = DoorInput(params, name="door-in")
        self._output = DoorOutput(params, send_bytes, send_json, pass_played_audio=pass_played_audio, name="door-out")

    def input(self) -> DoorInput:
        return self._input

    def output(self) -> DoorOutput:
        return self._output
