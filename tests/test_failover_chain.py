"""FailoverChain, in a running Pipecat pipeline: a standby provider is built only when
the serving one fails (also before the call has started); what arrives while it starts
is held and given to it in order once it has started; one that fails to start is taken
out in turn; the last one stays, errors and all; every provider taken out is reported,
and wound down."""

from __future__ import annotations

import asyncio
import contextlib

from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    TextFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from speech.failover import FailoverChain, Standby


class Notes:
    """What a provider was given, kept apart from it: a provider taken out is emptied."""

    def __init__(self) -> None:
        self.heard: list[str] = []
        self.starting = asyncio.Event()
        self.cancelled = self.cleaned_up = False
        self.changed = asyncio.Event()

    async def until(self, check) -> None:
        async with asyncio.timeout(5):
            while not check():
                self.changed.clear()
                await self.changed.wait()


class Provider(FrameProcessor):
    """Stands for an STT service (processing as it is given frames, as Pipecat's Deepgram
    does): notes what it is given, passes on only text. ``gate``, if given, holds its
    start until set; ``start_error`` makes it report an error instead of starting,
    ``setup_error`` its setup fail, ``error_on`` report one on hearing that audio."""

    def __init__(
        self,
        name: str,
        gate: asyncio.Event | None = None,
        start_error: str | None = None,
        setup_error: str = "",
        error_on: str = "",
    ) -> None:
        super().__init__(name=name, enable_direct_mode=True)
        self.gate, self.start_error, self.setup_error = gate, start_error, setup_error
        self.error_on = error_on
        self.notes = Notes()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        notes = self.notes
        if isinstance(frame, StartFrame):
            notes.heard.append("start")
            notes.starting.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.start_error is not None:
                await self.push_error(self.start_error)
                return
        elif isinstance(frame, CancelFrame):
            notes.cancelled = True
        elif isinstance(frame, InputAudioRawFrame):
            notes.heard.append(frame.audio.decode())
            if frame.audio.decode() == self.error_on:
                await self.push_error(f"failed on {self.error_on}")
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            notes.heard.append("vad")
        notes.changed.set()
        if not isinstance(frame, InputAudioRawFrame | VADUserStartedSpeakingFrame):
            await self.push_frame(frame, direction)

    async def setup(self, setup) -> None:
        await super().setup(setup)
        if self.setup_error:
            raise RuntimeError(self.setup_error)

    async def cleanup(self) -> None:
        notes = self.notes
        await super().cleanup()
        notes.cleaned_up = True
        notes.changed.set()


class Upstream(FrameProcessor):
    """Ahead of the chain: keeps the errors that come out of it."""

    def __init__(self) -> None:
        super().__init__(enable_direct_mode=True)
        self.errors: list[str] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, ErrorFrame):
            self.errors.append(frame.error)
        await self.push_frame(frame, direction)


class Downstream(FrameProcessor):
    """After the chain: keeps the text that comes out of it."""

    def __init__(self) -> None:
        super().__init__(enable_direct_mode=True)
        self.texts: list[str] = []
        self.changed = asyncio.Event()
        self.started = asyncio.Event()
        self.starts = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.starts += 1
            self.started.set()
        if isinstance(frame, TextFrame):
            self.texts.append(frame.text)
            self.changed.set()
        await self.push_frame(frame, direction)


def audio(label: str) -> InputAudioRawFrame:
    return InputAudioRawFrame(audio=label.encode(), sample_rate=16000, num_channels=1)


def standby(provider: Provider, built: list[str]) -> Standby:
    def build() -> Provider:
        built.append(provider.name)
        return provider

    return Standby(provider.name, build)


@contextlib.asynccontextmanager
async def running(first: Provider, reserve: list[Standby]):
    """A pipeline [upstream, chain, downstream] running; yields (worker, chain, upstream,
    downstream, switches), switches being what the chain reported."""
    switches: list[tuple[str, str | None, str]] = []
    switched = asyncio.Event()

    async def on_switch(failed: str, serving: str | None, why: str) -> None:
        switches.append((failed, serving, why))
        switched.set()

    chain = FailoverChain((first.name, first), reserve, on_switch)
    upstream, downstream = Upstream(), Downstream()
    worker = PipelineWorker(Pipeline([upstream, chain, downstream]), enable_rtvi=False, enable_turn_tracking=False)
    worker_runner = WorkerRunner(handle_sigint=False)
    await worker_runner.add_workers(worker)
    runner = asyncio.create_task(worker_runner.run())
    async with asyncio.timeout(5):
        await downstream.started.wait()
    try:
        yield worker, chain, upstream, downstream, switches
    finally:
        await worker.queue_frame(EndFrame())
        async with asyncio.timeout(10):
            await runner


async def test_a_standby_is_built_when_the_serving_provider_fails_and_hears_what_came_meanwhile_in_order():
    built: list[str] = []
    gate = asyncio.Event()
    first, second = Provider("deepgram"), Provider("pocketsphinx", gate=gate)
    first_notes = first.notes
    second_notes = second.notes
    async with running(first, [standby(second, built)]) as (worker, chain, upstream, downstream, switches):
        await worker.queue_frames([audio("a1"), audio("a2")])
        await first_notes.until(lambda: len(first_notes.heard) == 3)
        assert built == []  # a cold standby: nothing of it exists yet

        await first.push_error("socket closed")
        async with asyncio.timeout(5):
            await second_notes.starting.wait()  # built, and held at its start
        await worker.queue_frames([audio("b1"), VADUserStartedSpeakingFrame(start_secs=0.2), audio("b2")])
        await worker.queue_frame(TextFrame("passes through"))
        await first_notes.until(lambda: first_notes.cancelled and first_notes.cleaned_up)  # wound down meanwhile
        assert vars(first) == {}  # and emptied: nothing of it waits for the collector
        assert second_notes.heard == ["start"]  # nothing reaches it before it has started
        gate.set()
        await second_notes.until(lambda: len(second_notes.heard) == 4)
        await worker.queue_frame(audio("b3"))
        await second_notes.until(lambda: len(second_notes.heard) == 5)

    assert built == ["pocketsphinx"]
    assert first_notes.heard == ["start", "a1", "a2"]
    assert second_notes.heard == ["start", "b1", "vad", "b2", "b3"]
    assert switches == [("deepgram", "pocketsphinx", "socket closed")]
    assert chain.serving == "pocketsphinx"
    assert upstream.errors == []  # the switch answered for the error
    assert downstream.starts == 1  # the one taking over started on its own


async def test_a_standby_failing_on_what_was_held_for_it_hands_over_in_turn():
    built: list[str] = []
    gate = asyncio.Event()
    first, second, third = Provider("deepgram"), Provider("pocketsphinx", gate=gate, error_on="b1"), Provider("vosk")
    second_notes, third_notes = second.notes, third.notes
    reserve = [standby(second, built), standby(third, built)]
    async with running(first, reserve) as (worker, chain, upstream, downstream, switches):
        await first.push_error("socket closed")
        async with asyncio.timeout(5):
            await second_notes.starting.wait()
        await worker.queue_frames([audio("b1"), audio("b2")])  # held while it starts
        gate.set()
        await third_notes.until(lambda: third_notes.heard == ["start"])
        await worker.queue_frame(audio("c1"))
        await third_notes.until(lambda: len(third_notes.heard) == 2)

    assert second_notes.heard == ["start", "b1", "b2"]  # what was held for it, in order
    assert third_notes.heard == ["start", "c1"]
    assert switches == [("deepgram", "pocketsphinx", "socket closed"), ("pocketsphinx", "vosk", "failed on b1")]
    assert chain.serving == "vosk"
    assert upstream.errors == []


async def test_a_standby_that_fails_to_start_is_taken_out_and_the_next_serves():
    built: list[str] = []
    first = Provider("deepgram")
    broken, last = Provider("speechmatics", start_error="no route to host"), Provider("pocketsphinx")
    broken_notes = broken.notes
    last_notes = last.notes
    async with running(first, [standby(broken, built), standby(last, built)]) as (worker, chain, upstream, _, switches):
        await first.push_error("socket closed")
        await worker.queue_frame(audio("after"))
        await last_notes.until(lambda: "after" in last_notes.heard)
        await broken_notes.until(lambda: broken_notes.cancelled and broken_notes.cleaned_up)

    assert built == ["speechmatics", "pocketsphinx"]
    assert switches == [
        ("deepgram", "pocketsphinx", "socket closed"),
        ("speechmatics", "pocketsphinx", "could not start: no route to host"),
    ]
    assert broken_notes.heard == ["start"] and last_notes.heard == ["start", "after"]
    assert upstream.errors == []


async def test_the_last_provider_stays_errors_and_all():
    first, last = Provider("cartesia"), Provider("piper")
    last_notes = last.notes
    async with running(first, [standby(last, [])]) as (worker, chain, upstream, downstream, switches):
        await first.push_error("socket closed")
        await worker.queue_frame(TextFrame("one"))
        async with asyncio.timeout(5):
            await downstream.changed.wait()
        await last.push_error("voice model crashed")
        await worker.queue_frames([audio("still heard"), TextFrame("two")])
        await last_notes.until(lambda: "still heard" in last_notes.heard)

    assert switches == [("cartesia", "piper", "socket closed")]
    assert upstream.errors == ["voice model crashed"]  # no one to hand over to: it goes on up
    assert downstream.texts == ["one", "two"] and chain.serving == "piper"


async def test_with_no_provider_left_frames_pass_by_and_it_is_said():
    def cannot_build() -> Provider:
        raise RuntimeError("model file missing")

    first = Provider("pocketsphinx")
    first_notes = first.notes
    async with running(first, [Standby("vosk", cannot_build)]) as (worker, chain, upstream, downstream, switches):
        await first.push_error("decoder crashed")
        await worker.queue_frames([audio("lost"), TextFrame("passes by")])
        async with asyncio.timeout(5):
            await downstream.changed.wait()

    assert switches == [
        ("pocketsphinx", None, "decoder crashed"),
        ("vosk", None, "could not start: model file missing"),
    ]
    assert downstream.texts == ["passes by"] and chain.serving is None
    assert first_notes.heard == ["start"]


async def test_a_provider_that_fails_before_the_call_starts_hands_over_to_the_next_at_start():
    first = Provider("deepgram", setup_error="no TLS trust store")
    second = Provider("pocketsphinx")
    first_notes = first.notes
    second_notes = second.notes
    async with running(first, [standby(second, [])]) as (worker, chain, upstream, downstream, switches):
        await worker.queue_frame(audio("first words"))
        await second_notes.until(lambda: "first words" in second_notes.heard)

    assert switches == [("deepgram", "pocketsphinx", "Error setting up processor: no TLS trust store")]
    assert first_notes.heard == [] and second_notes.heard == ["start", "first words"]
    assert downstream.starts == 1 and upstream.errors == []
