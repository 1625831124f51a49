"""The decider shape every aggregate follows: ``initial``, ``evolve``, ``decide``.

All three are pure. ``decide`` returns the events a command causes (possibly
none: commands are idempotent) or raises :class:`actors.errors.Rejected`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bus_contracts.commands import Command
from bus_contracts.envelope import Event, UnknownEvent

S = TypeVar("S")


@dataclass(frozen=True)
class Decider(Generic[S]):
    aggregate: str
    initial: Callable[[], S]
    evolve: Callable[[S, Event], S]
    decide: Callable[[Command, S], Sequence[Event]]

    def fold(self, state: S, events: Iterable[Event | UnknownEvent | Any]) -> S:
        for e in events:
            # Events from a newer writer that we cannot read leave state unchanged.
            if isinstance(e, Event):
                state = self.evolve(state, e)
        return state
