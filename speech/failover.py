"""A voice profile's chain of providers of one kind (speech-to-text or text-to-speech),
in failover order, as one Pipecat processor: :class:`FailoverChain`.

The first provider that could start serves the call; the others are a cold standby,
built and started only when the one serving fails. A hot standby (Pipecat's
``ServiceSwitcher``, which this replaced) runs every provider of the chain for the whole
call: a socket per call to each cloud provider in reserve (counted against the
account's concurrency), a decoder per call for each local one, and 6 Pipecat
processors per provider, which at 50 calls were 40 % of the node's objects and of
every full garbage collection's pause (bench/audio.py).

Any error from the serving provider takes it out of the call, not only the errors
Pipecat's own failover strategy switches on (a service declaring itself unusable): a
provider that crashes, drops its socket or errors on an utterance would otherwise
keep the call, losing turns. The utterance in flight at the crash is lost (its text
lives inside the failed service). What reaches the chain while the next provider
starts is held, and given to it in order once it has started; a provider that
errors before it has started is taken out in turn, and one that errors on what was held
for it, once that has all been given to it. The last provider of the chain
stays, errors and all: one failed utterance is better than a call that can no longer
hear or speak.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipecat.frames.frames import (
    BotSpeakingFrame,
    CancelFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    UserSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameCallback, FrameDirection, FrameProcessor

from speech.collector import break_cycles

log = logging.getLogger("unpod.speech")

#: Told (provider taken out, the one now serving or None if none is left, why) for
#: every provider a failover takes out of the call.
OnSwitch = Callable[[str, str | None, str], Awaitable[None]]

#: How long a standby provider has to start (a cloud provider connects) before the
#: next one is tried.
START_TIMEOUT_S = 10.0
#: How long a provider taken out has to wind down (close its socket) before it is
#: cleaned up regardless.
RETIRE_TIMEOUT_S = 5.0

#: The frames that go straight to the serving provider: caller audio (30 a second) and
#: the heartbeats Pipecat broadcasts both ways while the caller or the bot speaks (once a
#: second each here: speech.realtime.HEARTBEAT_S). Each hop through the chain's own
#: source and sink costs more Python calls than the provider's work on such a frame.
SHORTCUT_FRAMES = frozenset({InputAudioRawFrame, UserSpeakingFrame, BotSpeakingFrame})


@dataclass(frozen=True)
class Standby:
    """A provider in reserve: its name, and how to build its service (run in a thread:
    constructing one takes tens of ms of CPU, which on the loop would hold every call)."""

    name: str
    build: Callable[[], FrameProcessor]


class FailoverChain(Pipeline):
    """A Pipecat ``Pipeline`` of one provider, which a failure replaces with the next."""

    def __init__(self, first: tuple[str, FrameProcessor], standby: list[Standby], on_switch: OnSwitch) -> None:
        self._serving_name, self._serving = first
        super().__init__([self._serving])
        self._standby = list(standby)
        self._on_switch = on_switch
        self._start_frame: StartFrame | None = None
        #: The failover under way, and what reached the chain meanwhile.
        self._failover: asyncio.Task[None] | None = None
        self._held: list[tuple[Frame, FrameDirection]] = []
        #: The new provider's error once it had started, before the failover ended (while
        #: what was held flushed into it): acted on when it has.
        self._error_in_flush: ErrorFrame | None = None
        #: Resolved when the provider being started has (None) or has failed (why).
        self._starting: asyncio.Future[str | None] | None = None
        #: The StartFrame has left the chain: a provider taking over later swallows its own.
        self._started = False
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def serving(self) -> str | None:
        """The provider serving the call (None when every one has failed)."""
        return self._serving_name

    async def queue_frame(
        self,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
        callback: FrameCallback | None = None,
    ) -> None:
        # A Pipeline processes each frame as it is given (direct mode): there is no queue
        # here for the shortcut to overtake.
        if type(frame) in SHORTCUT_FRAMES and callback is None and self._failover is None:
            if self._serving is not None:  # with none left, nothing wants them
                await self._serving.queue_frame(frame, direction)
            return
        await super().queue_frame(frame, direction, callback)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if self._failover is not None:
            if not isinstance(frame, CancelFrame):
                self._held.append((frame, direction))
                return
            await self.cancel_task(self._failover, timeout=RETIRE_TIMEOUT_S)
            self._failover = None
            self._held.clear()
        await self._pass(frame, direction)

    async def _pass(self, frame: Frame, direction: FrameDirection) -> None:
        """Through the serving provider (Pipeline.process_frame)."""
        if isinstance(frame, StartFrame):  # kept, to start a provider taking over with
            self._start_frame = frame
        await super().process_frame(frame, direction)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM) -> None:
        starting = self._starting is not None and not self._starting.done()
        if isinstance(frame, StartFrame):
            if starting:  # the provider taking over has started
                self._starting.set_result(None)
            if self._started:  # the rest of the pipeline has long had it
                return
            self._started = True
        if isinstance(frame, ErrorFrame) and not frame.fatal and frame.processor is self._serving:
            if starting:
                self._starting.set_result(frame.error)
                return
            if self._failover is not None:  # under way: for the one that failed, or kept till it ends
                self._error_in_flush = self._error_in_flush or frame
                return
            if self._standby:
                self._failover = self.create_task(self._fail_over(frame.error), "failover")
                return
        await super().push_frame(frame, direction)

    async def cleanup(self) -> None:
        if self._failover is not None:
            await self.cancel_task(self._failover, timeout=RETIRE_TIMEOUT_S)
        if self._retiring:
            await asyncio.wait(self._retiring, timeout=2 * RETIRE_TIMEOUT_S)
        await super().cleanup()

    async def _fail_over(self, why: str) -> None:
        taken_out = [(self._serving_name, why)]
        self._retire(self._install(None, None))
        while self._standby:
            standby = self._standby.pop(0)
            try:
                service = await asyncio.to_thread(standby.build)
            except Exception as exc:  # a provider that cannot even be built
                taken_out.append((standby.name, f"could not start: {exc}"))
                continue
            self._install(standby.name, service)
            problem = await self._start(service)
            if problem is None or not self._standby:  # started, or the last one standing
                break
            taken_out.append((standby.name, f"could not start: {problem}"))
            self._retire(self._install(None, None))
        for name, reason in taken_out:
            await self._on_switch(name, self._serving_name, reason)
        while self._held:  # in order, newcomers included, before frames go straight in again
            frame, direction = self._held.pop(0)
            await self._pass(frame, direction)
        self._failover = None
        error, self._error_in_flush = self._error_in_flush, None
        if error is not None and error.processor is self._serving:  # it failed too: the next one
            await self.push_frame(error, FrameDirection.UPSTREAM)

    def _install(self, name: str | None, service: FrameProcessor | None) -> FrameProcessor | None:
        """Put ``service`` where the serving provider is (None: frames pass by untouched);
        the provider it replaces, unlinked: what it still pushes goes nowhere."""
        replaced = self._serving
        if replaced is not None:
            replaced._prev = replaced._next = None
            self._processors.remove(replaced)
        self._serving_name, self._serving = name, service
        if service is None:
            self._source.link(self._sink)
        else:
            self._source.link(service)
            service.link(self._sink)
            self._processors.insert(1, service)
        return replaced

    async def _start(self, service: FrameProcessor) -> str | None:
        """Set up and start ``service``; None once it has started, or why it did not."""
        self._starting = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(START_TIMEOUT_S):  # a direct-mode service connects in queue_frame
                await self._setup_processors([service], self._setup)
                if self._start_frame is None:  # failed over before the call started: starts with it
                    return None
                await service.queue_frame(self._start_frame)
                return await self._starting
        except TimeoutError:
            return f"not started after {START_TIMEOUT_S:.0f} s"
        finally:
            self._starting = None

    def _retire(self, service: FrameProcessor | None) -> None:
        """Wind ``service`` down in the background: cancelled (its sockets closed), then
        cleaned up."""
        if service is None:
            return
        task = self.create_task(self._wind_down(service), "retire")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _wind_down(self, service: FrameProcessor) -> None:
        cancelled = asyncio.Event()

        async def _done(*_: object) -> None:
            cancelled.set()

        try:
            await service.queue_frame(CancelFrame(), callback=_done)
            async with asyncio.timeout(RETIRE_TIMEOUT_S):
                await cancelled.wait()
        except TimeoutError:
            log.warning("%s did not wind down in %.0f s; cleaning it up", service, RETIRE_TIMEOUT_S)
        finally:
            await service.cleanup()
            break_cycles(service)


def failover_chain(first: tuple[str, FrameProcessor], standby: list[Standby], on_switch: OnSwitch) -> FrameProcessor:
    """One processor for a chain: ``first`` = (provider name, service) serving."""
    return FailoverChain(first, standby, on_switch) if standby else first[1]
