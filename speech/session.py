"""One caller's audio session: a Pipecat pipeline on the node holding the socket.

    door in -> [record caller] -> Silero VAD -> barge-in -> STT -> transcript to
    the call -> TTS -> TTS timing -> door out -> [record agent] -> what was played

(the taps in brackets when the call is recorded).

The call session (actors.call_session) stays the brain's connector: it turns each
transcript into a turn for the runner, and the agent's streamed words come back
here as text for TTS (:meth:`agent_text`, :meth:`agent_done`, :meth:`say`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import EndFrame, Frame, LLMFullResponseEndFrame, LLMTextFrame, TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.transports.base_transport import TransportParams
from pipecat.workers.runner import WorkerRunner

from bus_contracts.events import DEFAULT_BARGE_IN_S
from speech.barge_in import BargeIn
from speech.call_bridge import OnTurn, TranscriptToCall
from speech.caller_vad import CallerVADProcessor
from speech.collector import COLLECTOR, break_cycles
from speech.door_transport import DoorTransport, SendBytes, SendJson
from speech.played_text import PlayedText
from speech.recording import StereoRecording
from speech.recording_tap import RecordingTap
from speech.turn_timing import TTSOutTiming
from speech.vad import SharedSileroVAD

START_TIMEOUT_S = 15.0


class SpeechSession:
    def __init__(
        self,
        *,
        in_rate: int,
        out_rate: int,
        send_bytes: SendBytes,
        send_json: SendJson,
        on_turn: OnTurn,
        on_barge_in: Callable[[], Awaitable[None]],
        on_played: Callable[[str], None],
        on_tts_audio: Callable[[], None],
        stt: FrameProcessor,
        tts: FrameProcessor,
        min_speech_s: float = DEFAULT_BARGE_IN_S,
        recording: StereoRecording | None = None,
    ) -> None:
        params = TransportParams(
            audio_in_enabled=True,
            audio_in_sample_rate=in_rate,
            audio_out_enabled=True,
            audio_out_sample_rate=out_rate,
        )
        # Played audio goes on past the output only to the agent's recording tap.
        self.transport = DoorTransport(params, send_bytes, send_json, pass_played_audio=recording is not None)
        caller_tap = [RecordingTap(recording, "caller")] if recording is not None else []
        agent_tap = [RecordingTap(recording, "agent")] if recording is not None else []
        pipeline = Pipeline(
            [
                self.transport.input(),
                *caller_tap,
                CallerVADProcessor(vad_analyzer=SharedSileroVAD()),
                BargeIn(on_barge_in, min_speech_s=min_speech_s),
                stt,
                TranscriptToCall(on_turn),
                tts,
                TTSOutTiming(on_tts_audio),
                self.transport.output(),
                *agent_tap,
                PlayedText(on_played),
            ]
        )
        self.worker = PipelineWorker(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=in_rate, audio_out_sample_rate=out_rate),
            idle_timeout_secs=None,  # the call decides when a session ends
            enable_rtvi=False,
            # Its observer sees every frame pushed; the call keeps its own turns.
            enable_turn_tracking=False,
        )
        self._runner = WorkerRunner(handle_sigint=False)
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        await self._runner.add_workers(self.worker)
        self._task = asyncio.create_task(self._runner.run(), name="speech-session")
        COLLECTOR.session_started()
        async with asyncio.timeout(START_TIMEOUT_S):
            await self.transport.output().ready.wait()

    async def feed(self, pcm: bytes, read_at: float | None = None) -> None:
        if not self._stopped:  # a stopped session's parts are emptied (stop)
            await self.transport.input().feed(pcm, read_at)

    async def agent_text(self, text: str) -> None:
        """A streamed chunk of the agent's reply: spoken sentence by sentence as it completes."""
        await self._queue(LLMTextFrame(text))

    async def agent_done(self) -> None:
        """The reply is complete: speak what is left of it."""
        await self._queue(LLMFullResponseEndFrame())

    async def say(self, text: str) -> None:
        await self._queue(TTSSpeakFrame(text))

    async def _queue(self, frame: Frame) -> None:
        if not self._stopped:  # a stopped session's parts are emptied (stop)
            await self.worker.queue_frame(frame)

    async def play_out(self, timeout_s: float) -> None:
        """Let what the bot has yet to say be spoken and sent, then stop: Pipecat's
        EndFrame goes down the pipeline behind it. Stopped at once after ``timeout_s``."""
        if self._task is None or self._stopped:
            return
        await self.worker.queue_frame(EndFrame())
        await asyncio.wait([self._task], timeout=timeout_s)
        await self.stop()

    async def stop(self) -> None:
        if self._task is None or self._stopped:
            return
        self._stopped = True
        await self.worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(5):
                await self._task
        if self._task.done():  # nothing of it runs any more: freed by reference counting
            break_cycles(self.worker.pipeline, self.worker, self._runner, self.transport)
        COLLECTOR.session_stopped()
