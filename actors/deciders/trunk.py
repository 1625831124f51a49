"""The trunk aggregate: a SIP or carrier connection and the numbers it carries."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from actors.decider import Decider
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import commands as c
from bus_contracts import events as e
from bus_contracts.envelope import Event
from bus_contracts.ids import E164_RE


class TrunkState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    deleted: bool = False
    project_id: str = ""
    registration: e.TrunkRegistered | None = None
    number_ids: tuple[str, ...] = ()


def initial() -> TrunkState:
    return TrunkState()


def evolve(state: TrunkState, event: Event) -> TrunkState:
    match event:
        case e.TrunkRegistered():
            return TrunkState(exists=True, project_id=event.project_id, registration=event)
        case e.TrunkNumbersAdded(number_ids=ids):
            known = set(state.number_ids)
            return msgspec.structs.replace(state, number_ids=(*state.number_ids, *(i for i in ids if i not in known)))
        case e.TrunkDeleted():
            return msgspec.structs.replace(state, deleted=True)
    return state


def _validate(command: c.RegisterTrunk) -> None:
    if not command.name.strip() or len(command.name) > 200:
        raise Invalid("name must be 1-200 characters")
    if command.type == "sip" and (command.sip is None or command.provider is not None):
        raise Invalid("a trunk of type 'sip' needs a 'sip' configuration (and no 'provider')")
    if command.type == "provider" and (command.provider is None or command.sip is not None):
        raise Invalid("a trunk of type 'provider' needs a 'provider' configuration (and no 'sip')")
    if command.sip is not None:
        if not command.sip.address.strip():
            raise Invalid("sip.address must not be empty")
        if not 1 <= command.sip.port <= 65535:
            raise Invalid("sip.port must be between 1 and 65535")
    bad = [n for n in command.numbers if not E164_RE.match(n)]
    if bad:
        raise Invalid(f"numbers must be E.164 (like +14155550100): {', '.join(bad)}")
    if len(set(command.numbers)) != len(command.numbers):
        raise Invalid("numbers must not repeat")


def _live(state: TrunkState, project_id: str) -> TrunkState:
    if not state.exists or state.deleted or state.project_id != project_id:
        raise NotFound("trunk not found")
    return state


def decide(command: c.Command, state: TrunkState) -> Sequence[Event]:
    match command:
        case c.RegisterTrunk():
            _validate(command)
            registered = e.TrunkRegistered(
                project_id=command.project_id,
                name=command.name,
                type=command.type,
                sip=command.sip,
                provider=command.provider,
                numbers=command.numbers,
            )
            if state.exists:
                if state.registration != registered or state.deleted:
                    raise Conflict("a trunk with this id already exists")
                return []
            return [registered]
        case c.RecordTrunkNumbers(number_ids=ids):
            _live(state, command.project_id)
            new = tuple(dict.fromkeys(i for i in ids if i not in state.number_ids))
            return [e.TrunkNumbersAdded(number_ids=new)] if new else []
        case c.DeleteTrunk():
            if state.exists and state.deleted and state.project_id == command.project_id:
                return []
            _live(state, command.project_id)
            return [e.TrunkDeleted()]
    raise TypeError(f"trunk cannot handle {type(command).__name__}")


DECIDER = Decider("trunk", initial, evolve, decide)
