"""A tiny given/when/then harness for deciders."""

from __future__ import annotations

from collections.abc import Sequence

from actors.decider import Decider
from actors.errors import Rejected
from bus_contracts.commands import Command
from bus_contracts.envelope import Event


class Scenario:
    def __init__(self, decider: Decider, history: Sequence[Event]) -> None:
        self.decider = decider
        self.state = decider.fold(decider.initial(), history)

    def when(self, command: Command) -> Outcome:
        try:
            return Outcome(list(self.decider.decide(command, self.state)), None)
        except Rejected as exc:
            return Outcome(None, exc)


class Outcome:
    def __init__(self, events: list[Event] | None, error: Rejected | None) -> None:
        self.events = events
        self.error = error

    def then(self, *expected: Event) -> None:
        assert self.error is None, f"expected events, got refusal: {self.error!r}"
        assert self.events == list(expected)

    def then_nothing(self) -> None:
        self.then()

    def then_refused(self, kind: type[Rejected], contains: str = "") -> None:
        assert self.error is not None, f"expected {kind.__name__}, got events {self.events}"
        assert isinstance(self.error, kind), f"expected {kind.__name__}, got {self.error!r}"
        assert contains in self.error.message, self.error.message


def given(decider: Decider, *history: Event) -> Scenario:
    return Scenario(decider, history)
