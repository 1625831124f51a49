"""FailoverSwitcher's shortcut for caller audio, in a Pipecat pipeline: audio reaches the
serving provider only, never ahead of a system frame sent before it, and follows a
switch to the next provider."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    ManuallySwitchServiceFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from speech.failover import FailOverOnAnyError, FailoverSwitcher


class Provider(FrameProcessor):
    """Stands for an STT service: notes the caller's frames it is given, passes nothing on."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.heard: list[str] = []
        self.changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.heard.append(frame.audio.decode())
        elif isinstance(frame, VADUserStartedSpeakingFrame | VADUserStoppedSpeakingFrame):
            self.heard.append(type(frame).__name__)
        else:
            await self.push_frame(frame, direction)
            return
        self.changed.set()

    async def until_heard(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.heard) < count:
                self.changed.clear()
                await self.changed.wait()


def audio(label: str) -> InputAudioRawFrame:
    return InputAudioRawFrame(audio=label.encode(), sample_rate=16000, num_channels=1)


async def test_audio_keeps_its_place_behind_system_frames_and_reaches_the_serving_provider_only():
    first, second = Provider("first"), Provider("second")
    switcher = FailoverSwitcher(services=[first, second], strategy_type=FailOverOnAnyError)
    worker = PipelineWorker(Pipeline([switcher]), enable_rtvi=False, enable_turn_tracking=False)
    runner = asyncio.create_task(WorkerRunner(handle_sigint=False).run(worker))
    # Queued back to back: the system frames wait in the switcher's queue while the
    # audio behind them arrives, the case where a shortcut could overtake them.
    await worker.queue_frames([
        audio("a1"),
        VADUserStartedSpeakingFrame(start_secs=0.2),
        audio("a2"),
        audio("a3"),
        VADUserStoppedSpeakingFrame(stop_secs=0.2),
        audio("a4"),
    ])  # fmt: skip
    await first.until_heard(6)
    switched = asyncio.Event()
    switcher.strategy.add_event_handler("on_service_switched", lambda *_: switched.set())
    await worker.queue_frame(ManuallySwitchServiceFrame(service=second))
    async with asyncio.timeout(5):
        await switched.wait()
    await worker.queue_frames([VADUserStartedSpeakingFrame(start_secs=0.2), audio("b1"), audio("b2"), EndFrame()])
    await second.until_heard(3)
    async with asyncio.timeout(5):
        await runner
    assert first.heard == ["a1", "VADUserStartedSpeakingFrame", "a2", "a3", "VADUserStoppedSpeakingFrame", "a4"]
    assert second.heard == ["VADUserStartedSpeakingFrame", "b1", "b2"]
