"""Projects and their API keys: who may act on which resources."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from actors.decider import Decider
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import commands as c
from bus_contracts import events as e
from bus_contracts.envelope import Event


class ProjectState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    name: str = ""


def project_initial() -> ProjectState:
    return ProjectState()


def project_evolve(state: ProjectState, event: Event) -> ProjectState:
    if isinstance(event, e.ProjectCreated):
        return ProjectState(exists=True, name=event.name)
    return state


def project_decide(command: c.Command, state: ProjectState) -> Sequence[Event]:
    match command:
        case c.CreateProject(name=name):
            if not name.strip() or len(name) > 200:
                raise Invalid("project name must be 1-200 characters")
            if state.exists:
                if state.name != name:
                    raise Conflict("a project with this id already exists")
                return []
            return [e.ProjectCreated(name=name)]
    raise TypeError(f"project cannot handle {type(command).__name__}")


class ApiKeyState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    revoked: bool = False
    project_id: str = ""
    name: str = ""
    key_hash: str = ""
    prefix: str = ""


def key_initial() -> ApiKeyState:
    return ApiKeyState()


def key_evolve(state: ApiKeyState, event: Event) -> ApiKeyState:
    match event:
        case e.ApiKeyIssued():
            return ApiKeyState(
                exists=True, project_id=event.project_id, name=event.name, key_hash=event.key_hash, prefix=event.prefix
            )
        case e.ApiKeyRevoked():
            return msgspec.structs.replace(state, revoked=True)
    return state


def key_decide(command: c.Command, state: ApiKeyState) -> Sequence[Event]:
    match command:
        case c.IssueApiKey():
            if not command.name.strip() or len(command.name) > 200:
                raise Invalid("key name must be 1-200 characters")
            issued = e.ApiKeyIssued(
                project_id=command.project_id, name=command.name, key_hash=command.key_hash, prefix=command.prefix
            )
            if state.exists:
                same = (state.project_id, state.name, state.key_hash) == (
                    command.project_id,
                    command.name,
                    command.key_hash,
                )
                if not same:
                    raise Conflict("a key with this id already exists")
                return []
            return [issued]
        case c.RevokeApiKey():
            if not state.exists or state.project_id != command.project_id:
                raise NotFound("api key not found")
            return [] if state.revoked else [e.ApiKeyRevoked()]
    raise TypeError(f"api key cannot handle {type(command).__name__}")


PROJECT_DECIDER = Decider("project", project_initial, project_evolve, project_decide)
KEY_DECIDER = Decider("key", key_initial, key_evolve, key_decide)
