"""The runner aggregate: one AgentRunner process (a ``worker_id``) in a pool."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from actors.decider import Decider
from actors.errors import Invalid, NotFound
from bus_contracts import runners as r
from bus_contracts.commands import Command
from bus_contracts.envelope import Event


class RunnerState(msgspec.Struct, frozen=True, kw_only=True):
    registration: r.RunnerRegistered | None = None
    online: bool = False
    lost_reason: str | None = None

    @property
    def project_id(self) -> str:
        return self.registration.project_id if self.registration else ""


def initial() -> RunnerState:
    return RunnerState()


def evolve(state: RunnerState, event: Event) -> RunnerState:
    match event:
        case r.RunnerRegistered():
            return RunnerState(registration=event, online=True)
        case r.RunnerLost(reason=reason):
            return msgspec.structs.replace(state, online=False, lost_reason=reason)
        case r.RunnerDeregistered():
            return msgspec.structs.replace(state, online=False, lost_reason=None)
    return state


def decide(command: Command, state: RunnerState) -> Sequence[Event]:
    match command:
        case r.RegisterRunner():
            if command.max_concurrent < 1 or command.max_concurrent > 100_000:
                raise Invalid("max_concurrent must be between 1 and 100000")
            registered = r.RunnerRegistered(**msgspec.structs.asdict(command))  # the same fields, by design
            if state.online and state.registration == registered:
                return []
            # New, back after being lost, or reconnected elsewhere: (re-)register.
            return [registered]
        case r.DeclareRunnerLost(reason=reason):
            if state.registration is None or state.project_id != command.project_id:
                raise NotFound("runner not found")
            return [r.RunnerLost(reason=reason)] if state.online else []
        case r.DeregisterRunner(reason=reason):
            if state.registration is None or state.project_id != command.project_id:
                raise NotFound("runner not found")
            return [r.RunnerDeregistered(reason=reason)] if state.online else []
    raise TypeError(f"runner cannot handle {type(command).__name__}")


DECIDER = Decider("runner", initial, evolve, decide)
