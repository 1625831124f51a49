"""The Speech Pipe aggregate: configuration plus the numbers linked to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET

from actors.decider import Decider
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import commands as c
from bus_contracts import events as e
from bus_contracts.envelope import Event
from bus_contracts.voice_profiles import get_profile

AGENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MIN_CALL_S, MAX_CALL_S = 10, 86_400


class PipeState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    deleted: bool = False
    project_id: str = ""
    config: e.PipeConfig | None = None
    numbers: tuple[str, ...] = ()


def initial() -> PipeState:
    return PipeState()


def evolve(state: PipeState, event: Event) -> PipeState:
    match event:
        case e.PipeCreated(config=config, project_id=project_id):
            return PipeState(exists=True, config=config, project_id=project_id)
        case e.PipeUpdated():
            assert state.config is not None
            changes = {f: v for f in event.__struct_fields__ if (v := getattr(event, f)) is not UNSET}
            return msgspec.structs.replace(state, config=msgspec.structs.replace(state.config, **changes))
        case e.PipeNumberLinked(number_id=n):
            return msgspec.structs.replace(state, numbers=(*state.numbers, n))
        case e.PipeNumberUnlinked(number_id=n):
            return msgspec.structs.replace(state, numbers=tuple(x for x in state.numbers if x != n))
        case e.PipeDeleted():
            return msgspec.structs.replace(state, deleted=True)
    return state


def validate_config(config: e.PipeConfig) -> None:
    """Business rules for a complete pipe configuration."""
    if not config.name.strip():
        raise Invalid("name must not be empty")
    if len(config.name) > 200:
        raise Invalid("name must be at most 200 characters")
    if config.voice_profile_id is not None and get_profile(config.voice_profile_id) is None:
        raise Invalid(f"unknown voice profile {config.voice_profile_id!r}; see GET /v1/voice-profiles")
    if (config.agent_id is None) == (config.agent_endpoint is None):
        raise Invalid("set exactly one of agent_id (an AgentRunner pool) or agent_endpoint (an HTTP URL)")
    if config.agent_id is not None and not AGENT_ID_RE.match(config.agent_id):
        raise Invalid(
            "agent_id must be 1-128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
        )
    if config.agent_endpoint is not None:
        try:
            parts = urlsplit(config.agent_endpoint)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid("agent_endpoint must be an absolute http:// or https:// URL")
    if not MIN_CALL_S <= config.max_call_duration_s <= MAX_CALL_S:
        raise Invalid(f"max_call_duration_s must be between {MIN_CALL_S} and {MAX_CALL_S}")
    if not e.MIN_BARGE_IN_S <= config.barge_in_min_speech_s <= e.MAX_BARGE_IN_S:
        raise Invalid(f"barge_in_min_speech_s must be between {e.MIN_BARGE_IN_S} and {e.MAX_BARGE_IN_S}")


def _live(state: PipeState, project_id: str) -> PipeState:
    if not state.exists or state.deleted or state.project_id != project_id:
        raise NotFound("pipe not found")
    return state


def decide(command: c.Command, state: PipeState) -> Sequence[Event]:
    match command:
        case c.CreatePipe(config=config):
            validate_config(config)
            if state.exists:
                if state.deleted or state.project_id != command.project_id or state.config != config:
                    raise Conflict("a pipe with this id already exists")
                return []
            return [e.PipeCreated(project_id=command.project_id, config=config)]
        case c.UpdatePipe():
            _live(state, command.project_id)
            assert state.config is not None
            changes = {
                f: v
                for f in command.__struct_fields__
                if f != "project_id" and (v := getattr(command, f)) is not UNSET and getattr(state.config, f) != v
            }
            if not changes:
                return []
            validate_config(msgspec.structs.replace(state.config, **changes))
            return [e.PipeUpdated(**changes)]
        case c.LinkNumber(number_id=n):
            _live(state, command.project_id)
            return [] if n in state.numbers else [e.PipeNumberLinked(number_id=n)]
        case c.UnlinkNumber(number_id=n):
            if not state.exists or state.project_id != command.project_id:
                raise NotFound("pipe not found")
            return [e.PipeNumberUnlinked(number_id=n)] if n in state.numbers else []
        case c.DeletePipe():
            if state.exists and state.deleted and state.project_id == command.project_id:
                return []
            _live(state, command.project_id)
            if state.numbers:
                listed = ", ".join(state.numbers)
                raise Conflict(
                    f"pipe still has {len(state.numbers)} attached number(s): {listed}. "
                    "Detach them first (POST /v1/numbers/{id}/detach) so no calls are routed to a deleted pipe"
                )
            return [e.PipeDeleted()]
    raise TypeError(f"pipe cannot handle {type(command).__name__}")


DECIDER = Decider("pipe", initial, evolve, decide)
