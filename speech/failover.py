"""Failing over between the providers of one chain mid-call, with Pipecat's
``ServiceSwitcher``: every provider of the chain that could start is running (a hot
standby), frames go to the active one only.

Pipecat's own failover strategy switches only when a service declares itself
unusable (an authentication error, say); a provider that crashes, drops its socket or
errors on an utterance would keep the call on it, losing turns. Here any error from
the active provider takes it out of the call and the next one serves from the next
utterance on. The utterance in flight at the crash is lost (its text lives inside the
failed service's aggregator).

Caller audio and the speaking heartbeats take a shortcut to the serving provider
(:class:`FailoverSwitcher`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    BotSpeakingFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    SystemFrame,
    UserSpeakingFrame,
)
from pipecat.pipeline.service_switcher import ServiceSwitcher, ServiceSwitcherStrategyFailover
from pipecat.processors.frame_processor import FrameCallback, FrameDirection, FrameProcessor

#: Told (failed provider, the one now serving, why) on every switch.
OnSwitch = Callable[[str, str, str], Awaitable[None]]


class FailOverOnAnyError(ServiceSwitcherStrategyFailover):
    def __init__(self, services: list[FrameProcessor]) -> None:
        super().__init__(services)
        #: The provider taken out by the latest switch, and why.
        self.failed: FrameProcessor | None = None
        self.why = ""

    async def handle_error(self, error: ErrorFrame) -> FrameProcessor | None:
        failed = error.processor or self.active_service
        standby = [s for s in self.services if s is not failed and s.is_usable]
        # The last provider standing stays, errors and all: one failed utterance is
        # better than a call that can no longer hear or speak.
        if failed is self.active_service and failed.is_usable and standby:
            self.failed, self.why = failed, error.error
            await failed.set_usable(False)
        return await super().handle_error(error)


#: The frames that go straight to the serving provider: caller audio (30 a second) and
#: the heartbeats Pipecat broadcasts both ways while the caller or the bot speaks (once a
#: second each here: speech.realtime.HEARTBEAT_S). All are system frames a standby
#: provider's filter would drop.
SHORTCUT_FRAMES = frozenset({InputAudioRawFrame, UserSpeakingFrame, BotSpeakingFrame})


class FailoverSwitcher(ServiceSwitcher):
    """Pipecat's ``ServiceSwitcher``, with the frames that come many a second
    (:data:`SHORTCUT_FRAMES`) handed straight to the serving provider.

    Every frame into a switcher is queued, then offered to each provider's branch, where a
    filter lets it through to the serving one only: for caller audio, 30 frames a second,
    that cost more CPU than the Silero model (measured: about 270 Python calls a frame);
    the heartbeats, which every processor of every branch of both chains saw, took as many
    frame hops per call as the caller's audio did (counted at 30 calls in bench/audio.py).
    Such a frame goes the short way only when it cannot overtake anything: no system
    frame is waiting in the switcher (system frames keep their order among themselves;
    data frames are overtaken by system frames in any Pipecat processor) and no lifecycle
    frame is being synchronised across the branches. What the provider passes on leaves
    through its branch, as any frame of it does.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: System frames queued here and not yet passed on to the branches.
        self._system_frames_waiting = 0

    async def queue_frame(
        self,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
        callback: FrameCallback | None = None,
    ) -> None:
        if (
            type(frame) in SHORTCUT_FRAMES
            and callback is None
            and not self._system_frames_waiting
            and not self._synchronizing
            and not self._cancelling
        ):
            await self.strategy.active_service.queue_frame(frame, direction)
            return
        if isinstance(frame, SystemFrame) and not self._cancelling:
            self._system_frames_waiting += 1
        await super().queue_frame(frame, direction, callback)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        try:
            await super().process_frame(frame, direction)
        finally:  # counted down once the branches have it: nothing can overtake it now
            if isinstance(frame, SystemFrame):
                self._system_frames_waiting -= 1


def failover_chain(services: list[tuple[str, FrameProcessor]], on_switch: OnSwitch) -> FrameProcessor:
    """One processor for a chain of ``(provider name, service)``, first = serving."""
    if len(services) == 1:
        return services[0][1]
    names = {id(service): name for name, service in services}
    switcher = FailoverSwitcher(services=[s for _, s in services], strategy_type=FailOverOnAnyError)

    @switcher.strategy.event_handler("on_service_switched")
    async def _switched(strategy: FailOverOnAnyError, service: FrameProcessor) -> None:
        await on_switch(names[id(strategy.failed)], names[id(service)], strategy.why)

    return switcher
