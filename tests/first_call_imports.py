"""Run by tests/test_warm_up.py in a fresh interpreter: warm up as a node does, then
carry one call's cloud providers (Deepgram STT, Cartesia TTS, against the fakes)
through a turn in a Pipecat pipeline, and print, as JSON, the modules imported after
the warm-up."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipecat.frames.frames import (  # noqa: E402
    EndFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

from bus_contracts.voice_profiles import ProviderRef  # noqa: E402
from speech.providers import STT_BUILDERS, TTS_BUILDERS  # noqa: E402
from speech.warm import warm_up  # noqa: E402
from tests.fake_cloud import FakeCartesia, FakeDeepgram  # noqa: E402


class Heard(FrameProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.transcribed, self.spoken = asyncio.Event(), asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            self.transcribed.set()
        elif isinstance(frame, TTSAudioRawFrame):
            self.spoken.set()
        await self.push_frame(frame, direction)


async def main() -> None:
    async with FakeDeepgram(scripted="hello there") as deepgram, FakeCartesia() as cartesia:
        os.environ.update({
            "DEEPGRAM_API_KEY": "test", "UNPOD_DEEPGRAM_URL": deepgram.url,
            "CARTESIA_API_KEY": "test", "UNPOD_CARTESIA_URL": f"{cartesia.url}/tts/websocket",
        })  # fmt: skip
        await asyncio.to_thread(warm_up)
        before = set(sys.modules)
        heard = Heard()
        stt = STT_BUILDERS["deepgram"](ProviderRef(provider="deepgram"), os.environ)
        tts = TTS_BUILDERS["cartesia"](ProviderRef(provider="cartesia"), os.environ)
        worker = PipelineWorker(Pipeline([stt, tts, heard]), params=PipelineParams(audio_in_sample_rate=16000))
        running = asyncio.create_task(WorkerRunner(handle_sigint=False).run(worker))
        async with asyncio.timeout(20):
            await worker.queue_frames([
                VADUserStartedSpeakingFrame(),
                *(InputAudioRawFrame(audio=bytes(640), sample_rate=16000, num_channels=1) for _ in range(10)),
                VADUserStoppedSpeakingFrame(),
            ])  # fmt: skip
            await heard.transcribed.wait()
            await worker.queue_frame(TTSSpeakFrame("Hello there."))
            await heard.spoken.wait()
            await worker.queue_frame(EndFrame())
            await running
    print(json.dumps(sorted(set(sys.modules) - before)))


if __name__ == "__main__":
    asyncio.run(main())
