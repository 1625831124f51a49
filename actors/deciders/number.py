"""The phone number aggregate: ownership, routing to a pipe, and live calls.

Status: ``available`` (owned, not routed) -> ``assigned`` (attached to a pipe)
-> ``in_call`` (assigned, with at least one live call) -> back. A released
number leaves its project and may be added again later, by any project.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from actors.decider import Decider
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import commands as c
from bus_contracts import events as e
from bus_contracts.envelope import Event
from bus_contracts.ids import E164_RE

NumberStatus = Literal["available", "assigned", "in_call"]


class NumberState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    released: bool = False
    project_id: str = ""
    number: str = ""
    source: str = ""
    trunk_id: str | None = None
    country: str | None = None
    capabilities: tuple[str, ...] = ()
    pipe_id: str | None = None
    active_calls: tuple[str, ...] = ()

    @property
    def status(self) -> NumberStatus:
        if self.active_calls:
            return "in_call"
        return "assigned" if self.pipe_id else "available"

    @property
    def live(self) -> bool:
        return self.exists and not self.released


def initial() -> NumberState:
    return NumberState()


def evolve(state: NumberState, event: Event) -> NumberState:
    replace = msgspec.structs.replace
    match event:
        case e.NumberAdded():
            return NumberState(
                exists=True,
                project_id=event.project_id,
                number=event.number,
                source=event.source,
                trunk_id=event.trunk_id,
                country=event.country,
                capabilities=event.capabilities,
            )
        case e.NumberAttached(pipe_id=pipe_id):
            return replace(state, pipe_id=pipe_id)
        case e.NumberDetached():
            return replace(state, pipe_id=None)
        case e.NumberCallStarted(call_id=call_id):
            return replace(state, active_calls=(*state.active_calls, call_id))
        case e.NumberCallEnded(call_id=call_id):
            return replace(state, active_calls=tuple(x for x in state.active_calls if x != call_id))
        case e.NumberReleased():
            return replace(state, released=True, pipe_id=None, active_calls=())
    return state


def _owned(state: NumberState, project_id: str) -> NumberState:
    if not state.live or state.project_id != project_id:
        raise NotFound("number not found")
    return state


def decide(command: c.Command, state: NumberState) -> Sequence[Event]:
    match command:
        case c.AddNumber():
            if not E164_RE.match(command.number):
                raise Invalid(f"{command.number!r} is not an E.164 number (like +14155550100)")
            if state.live:
                same = (
                    state.project_id == command.project_id
                    and state.number == command.number
                    and state.trunk_id == command.trunk_id
                )
                if same:
                    return []
                raise Conflict(f"number {command.number} is already registered")
            return [
                e.NumberAdded(
                    project_id=command.project_id,
                    number=command.number,
                    source=command.source,
                    trunk_id=command.trunk_id,
                    country=command.country,
                    capabilities=command.capabilities,
                )
            ]
        case c.AttachNumber(pipe_id=pipe_id):
            _owned(state, command.project_id)
            if state.pipe_id == pipe_id:
                return []
            if state.pipe_id is not None:
                raise Conflict(
                    f"number {state.number} is attached to pipe {state.pipe_id}; detach it before attaching it elsewhere"
                )
            return [e.NumberAttached(pipe_id=pipe_id)]
        case c.DetachNumber():
            _owned(state, command.project_id)
            if state.pipe_id is None:
                return []
            if state.active_calls:
                raise Conflict(
                    f"number {state.number} has a live call ({', '.join(state.active_calls)}); detach it after the call ends"
                )
            return [e.NumberDetached(pipe_id=state.pipe_id)]
        case c.StartNumberCall(call_id=call_id):
            _owned(state, command.project_id)
            if call_id in state.active_calls:
                return []
            if state.pipe_id is None:
                raise Conflict(f"number {state.number} is not attached to a pipe")
            return [e.NumberCallStarted(call_id=call_id)]
        case c.EndNumberCall(call_id=call_id):
            _owned(state, command.project_id)
            return [e.NumberCallEnded(call_id=call_id)] if call_id in state.active_calls else []
        case c.ReleaseNumber():
            if state.exists and state.released and state.project_id == command.project_id:
                return []  # (another project must not learn the number ever existed)
            _owned(state, command.project_id)
            if state.pipe_id is not None:
                raise Conflict(
                    f"number {state.number} is attached to pipe {state.pipe_id}; detach it before releasing it"
                )
            return [e.NumberReleased()]
    raise TypeError(f"number cannot handle {type(command).__name__}")


DECIDER = Decider("number", initial, evolve, decide)
