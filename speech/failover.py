"""Failing over between the providers of one chain mid-call, with Pipecat's
``ServiceSwitcher``: every provider of the chain that could start is running (a hot
standby), frames go to the active one only.

Pipecat's own failover strategy switches only when a service declares itself
unusable (an authentication error, say); a provider that crashes, drops its socket or
errors on an utterance would keep the call on it, losing turns. Here any error from
the active provider takes it out of the call and the next one serves from the next
utterance on. The utterance in flight at the crash is lost (its text lives inside the
failed service's aggregator).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pipecat.frames.frames import ErrorFrame
from pipecat.pipeline.service_switcher import ServiceSwitcher, ServiceSwitcherStrategyFailover
from pipecat.processors.frame_processor import FrameProcessor

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


def failover_chain(services: list[tuple[str, FrameProcessor]], on_switch: OnSwitch) -> FrameProcessor:
    """One processor for a chain of ``(provider name, service)``, first = serving."""
    if len(services) == 1:
        return services[0][1]
    names = {id(service): name for name, service in services}
    switcher = ServiceSwitcher(services=[s for _, s in services], strategy_type=FailOverOnAnyError)

    @switcher.strategy.event_handler("on_service_switched")
    async def _switched(strategy: FailOverOnAnyError, service: FrameProcessor) -> None:
        await on_switch(names[id(strategy.failed)], names[id(service)], strategy.why)

    return switcher
