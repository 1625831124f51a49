"""The runner aggregate's language. Registration and loss are events; heartbeats
and load are not (they live in memory and a KV bucket)."""

from __future__ import annotations

from typing import Literal

from bus_contracts.commands import Command
from bus_contracts.envelope import Event, event


@event("runner.registered", aggregate="runner")
class RunnerRegistered(Event, frozen=True, kw_only=True):
    project_id: str
    worker_id: str
    agent_id: str
    #: ``agent_id`` or ``<agent_id>@dev``.
    pool: str
    max_concurrent: int
    transport: str = "dial_out"
    hostname: str | None = None
    region: str | None = None
    #: The node holding the runner's control socket.
    node_id: str = ""


@event("runner.lost", aggregate="runner")
class RunnerLost(Event, frozen=True, kw_only=True):
    """Missed heartbeats or a dropped control socket."""

    reason: str


@event("runner.deregistered", aggregate="runner")
class RunnerDeregistered(Event, frozen=True, kw_only=True):
    """The runner left cleanly (drained, closed its socket after draining)."""

    reason: Literal["drained", "closed", "replaced"] = "closed"


class RegisterRunner(Command, frozen=True, kw_only=True):
    worker_id: str
    agent_id: str
    pool: str
    max_concurrent: int
    transport: str = "dial_out"
    hostname: str | None = None
    region: str | None = None
    node_id: str = ""


class DeclareRunnerLost(Command, frozen=True, kw_only=True):
    reason: str


class DeregisterRunner(Command, frozen=True, kw_only=True):
    reason: Literal["drained", "closed", "replaced"] = "closed"
