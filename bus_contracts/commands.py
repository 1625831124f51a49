"""Commands: what a caller asks an aggregate to do. Deciders accept or refuse them.

Every command names the project it acts for; an aggregate of another project
answers "not found", so ids never leak across projects.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from bus_contracts.events import FirstSpeaker, NumberSource, PipeConfig, ProviderTrunkConfig, SipTrunkConfig, TrunkType


class Command(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str


# --- projects and keys ---


class CreateProject(Command, frozen=True, kw_only=True):
    name: str


class IssueApiKey(Command, frozen=True, kw_only=True):
    name: str
    key_hash: str
    prefix: str


class RevokeApiKey(Command, frozen=True, kw_only=True):
    pass


# --- pipes ---


class CreatePipe(Command, frozen=True, kw_only=True):
    config: PipeConfig


class UpdatePipe(Command, frozen=True, kw_only=True):
    name: str | UnsetType = UNSET
    voice_profile_id: str | None | UnsetType = UNSET
    agent_id: str | None | UnsetType = UNSET
    agent_endpoint: str | None | UnsetType = UNSET
    recording: bool | UnsetType = UNSET
    max_call_duration_s: int | UnsetType = UNSET
    first_speaker: FirstSpeaker | UnsetType = UNSET
    barge_in_min_speech_s: float | UnsetType = UNSET


class LinkNumber(Command, frozen=True, kw_only=True):
    number_id: str


class UnlinkNumber(Command, frozen=True, kw_only=True):
    number_id: str


class DeletePipe(Command, frozen=True, kw_only=True):
    pass


# --- numbers ---


class AddNumber(Command, frozen=True, kw_only=True):
    number: str
    source: NumberSource
    trunk_id: str | None = None
    country: str | None = None
    capabilities: tuple[str, ...] = ("voice",)


class AttachNumber(Command, frozen=True, kw_only=True):
    pipe_id: str


class DetachNumber(Command, frozen=True, kw_only=True):
    pass


class StartNumberCall(Command, frozen=True, kw_only=True):
    call_id: str


class EndNumberCall(Command, frozen=True, kw_only=True):
    call_id: str


class ReleaseNumber(Command, frozen=True, kw_only=True):
    pass


# --- trunks ---


class RegisterTrunk(Command, frozen=True, kw_only=True):
    name: str
    type: TrunkType
    sip: SipTrunkConfig | None = None
    provider: ProviderTrunkConfig | None = None
    numbers: tuple[str, ...] = ()


class RecordTrunkNumbers(Command, frozen=True, kw_only=True):
    number_ids: tuple[str, ...]


class DeleteTrunk(Command, frozen=True, kw_only=True):
    pass
