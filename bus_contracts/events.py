"""Event payloads of the management plane: projects, API keys, pipes, numbers, trunks.

Payloads carry only what changed; the envelope carries ids, time and project.
A creating event also names its owning project: deciders need it to answer
"not found" to other projects, and they see payloads only.
Field rules: a new field must have a default; a field is never repurposed.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from bus_contracts.envelope import Event, event

FirstSpeaker = Literal["agent", "user"]
TrunkType = Literal["sip", "provider"]
NumberSource = Literal["trunk", "byon"]


# --- projects and API keys -------------------------------------------------


@event("project.created", aggregate="project")
class ProjectCreated(Event, frozen=True, kw_only=True):
    name: str


@event("key.issued", aggregate="key")
class ApiKeyIssued(Event, frozen=True, kw_only=True):
    project_id: str
    name: str
    #: sha256 of the full secret; the secret itself is never stored.
    key_hash: str
    #: The first characters of the key, to recognise it in a listing.
    prefix: str


@event("key.revoked", aggregate="key")
class ApiKeyRevoked(Event, frozen=True, kw_only=True):
    pass


# --- pipes -------------------------------------------------------------------

#: Seconds of caller speech over the bot that stop it (a pipe's barge-in policy): the
#: default and the range a pipe may set. The default lets a backchannel ("mm-hm",
#: "yeah") or a cough pass, and hears a caller who means it within about half a second.
DEFAULT_BARGE_IN_S, MIN_BARGE_IN_S, MAX_BARGE_IN_S = 0.6, 0.2, 5.0


class PipeConfig(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    voice_profile_id: str | None = None
    agent_id: str | None = None
    agent_endpoint: str | None = None
    recording: bool = False
    max_call_duration_s: int = 3600
    first_speaker: FirstSpeaker = "agent"
    #: Seconds of caller speech over the bot before it stops (barge-in); less is a noise.
    barge_in_min_speech_s: float = DEFAULT_BARGE_IN_S


@event("pipe.created", aggregate="pipe")
class PipeCreated(Event, frozen=True, kw_only=True):
    project_id: str
    config: PipeConfig


@event("pipe.updated", aggregate="pipe")
class PipeUpdated(Event, frozen=True, kw_only=True):
    """Only the fields that changed are present."""

    name: str | UnsetType = UNSET
    voice_profile_id: str | None | UnsetType = UNSET
    agent_id: str | None | UnsetType = UNSET
    agent_endpoint: str | None | UnsetType = UNSET
    recording: bool | UnsetType = UNSET
    max_call_duration_s: int | UnsetType = UNSET
    first_speaker: FirstSpeaker | UnsetType = UNSET
    barge_in_min_speech_s: float | UnsetType = UNSET


@event("pipe.number_linked", aggregate="pipe")
class PipeNumberLinked(Event, frozen=True, kw_only=True):
    number_id: str


@event("pipe.number_unlinked", aggregate="pipe")
class PipeNumberUnlinked(Event, frozen=True, kw_only=True):
    number_id: str


@event("pipe.deleted", aggregate="pipe")
class PipeDeleted(Event, frozen=True, kw_only=True):
    pass


# --- numbers -----------------------------------------------------------------


@event("number.added", aggregate="number")
class NumberAdded(Event, frozen=True, kw_only=True):
    project_id: str
    number: str
    source: NumberSource
    trunk_id: str | None = None
    country: str | None = None
    capabilities: tuple[str, ...] = ("voice",)


@event("number.attached", aggregate="number")
class NumberAttached(Event, frozen=True, kw_only=True):
    pipe_id: str


@event("number.detached", aggregate="number")
class NumberDetached(Event, frozen=True, kw_only=True):
    pipe_id: str


@event("number.call_started", aggregate="number")
class NumberCallStarted(Event, frozen=True, kw_only=True):
    call_id: str


@event("number.call_ended", aggregate="number")
class NumberCallEnded(Event, frozen=True, kw_only=True):
    call_id: str


@event("number.released", aggregate="number")
class NumberReleased(Event, frozen=True, kw_only=True):
    pass


# --- trunks ------------------------------------------------------------------


class SipTrunkConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A bring-your-own SIP trunk. The password lives in the secrets bucket."""

    address: str
    port: int = 5060
    transport: Literal["udp", "tcp", "tls"] = "udp"
    auth_username: str | None = None
    has_auth_password: bool = False


class ProviderTrunkConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A carrier account (Twilio, Telnyx, ...). Its API token lives in the secrets bucket."""

    provider: str
    account_id: str | None = None
    has_api_token: bool = False


@event("trunk.registered", aggregate="trunk")
class TrunkRegistered(Event, frozen=True, kw_only=True):
    project_id: str
    name: str
    type: TrunkType
    sip: SipTrunkConfig | None = None
    provider: ProviderTrunkConfig | None = None
    #: E.164 numbers the trunk carries; ``sync`` turns them into Number aggregates.
    numbers: tuple[str, ...] = ()


@event("trunk.numbers_added", aggregate="trunk")
class TrunkNumbersAdded(Event, frozen=True, kw_only=True):
    number_ids: tuple[str, ...]


@event("trunk.deleted", aggregate="trunk")
class TrunkDeleted(Event, frozen=True, kw_only=True):
    pass
