"""Request and response bodies (msgspec Structs). Write bodies refuse unknown
fields, so a typo is a 400 that names the field instead of a silent no-op."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from bus_contracts.events import DEFAULT_BARGE_IN_S, MAX_BARGE_IN_S, MIN_BARGE_IN_S

Name = Annotated[
    str, Meta(min_length=1, max_length=200, pattern=r"\S", description="Human-readable name (not only whitespace)")
]
E164 = Annotated[str, Meta(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164 phone number, e.g. +14155550100")]
Country = Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code")]
Duration = Annotated[int, Meta(ge=10, le=86_400, description="Hard limit of one call, in seconds")]
AgentId = Annotated[str, Meta(min_length=1, max_length=128, description="The AgentRunner pool serving this pipe")]
Url = Annotated[str, Meta(min_length=8, max_length=2048, description="http(s) URL called on every user turn")]
ProfileId = Annotated[
    str, Meta(min_length=1, max_length=64, description="A voice profile id from GET /v1/voice-profiles")
]
FirstSpeaker = Literal["agent", "user"]
BargeIn = Annotated[
    float,
    Meta(
        ge=MIN_BARGE_IN_S,
        le=MAX_BARGE_IN_S,
        description="Seconds of caller speech over the bot that stop it (shorter: a noise or 'mm-hm')",
    ),
]


class Error(msgspec.Struct, kw_only=True):
    status_code: int
    code: str
    message: str
    #: Same text as ``message`` (Litestar's default field name, kept for clients that read it).
    detail: str
    extra: list[dict[str, object]] | None = None


# --- voice profiles ---


class FailoverOrder(msgspec.Struct, kw_only=True):
    stt: list[str]
    tts: list[str]


class VoiceProfile(msgspec.Struct, kw_only=True):
    profile_id: str
    name: str
    description: str
    language: str
    gender: str
    stt_provider: str
    stt_model: str | None
    tts_provider: str
    tts_voice: str | None
    failover_order: FailoverOrder
    estimated_latency_ms: int
    estimated_cost_per_min_usd: float


class VoiceProfileList(msgspec.Struct):
    data: list[VoiceProfile]


# --- pipes ---


class PipeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    voice_profile: ProfileId | None = None
    agent_id: AgentId | None = None
    agent_endpoint: Url | None = None
    recording: bool = False
    max_call_duration_s: Duration = 3600
    first_speaker: FirstSpeaker = "agent"
    barge_in_min_speech_s: BargeIn = DEFAULT_BARGE_IN_S


class PipeUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change. Send ``agent_id: null`` with an ``agent_endpoint`` to switch brains."""

    name: Name | UnsetType = UNSET
    voice_profile: ProfileId | None | UnsetType = UNSET
    agent_id: AgentId | None | UnsetType = UNSET
    agent_endpoint: Url | None | UnsetType = UNSET
    recording: bool | UnsetType = UNSET
    max_call_duration_s: Duration | UnsetType = UNSET
    first_speaker: FirstSpeaker | UnsetType = UNSET
    barge_in_min_speech_s: BargeIn | UnsetType = UNSET


class Pipe(msgspec.Struct, kw_only=True):
    pipe_id: str
    project_id: str
    name: str
    voice_profile_id: str | None
    agent_id: str | None
    agent_endpoint: str | None
    recording: bool
    max_call_duration_s: int
    first_speaker: FirstSpeaker
    barge_in_min_speech_s: float
    #: Ids of the numbers routed to this pipe.
    numbers: list[str]
    created_at: str
    updated_at: str


class PipeList(msgspec.Struct):
    data: list[Pipe]


# --- numbers ---

NumberStatus = Literal["available", "assigned", "in_call"]


class NumberCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Bring your own number (BYON). ``trunk_id`` names the trunk that carries it, if any."""

    number: E164
    trunk_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    country: Country | None = None
    capabilities: Annotated[list[Literal["voice", "sms"]], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["voice"]
    )


class NumberAttach(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pipe_id: Annotated[str, Meta(min_length=1, max_length=128)]


class Number(msgspec.Struct, kw_only=True):
    id: str
    number: str
    project_id: str
    status: NumberStatus
    pipe_id: str | None
    trunk_id: str | None
    source: Literal["trunk", "byon"]
    country: str | None
    capabilities: list[str]
    created_at: str
    updated_at: str


class NumberList(msgspec.Struct):
    data: list[Number]


# --- trunks ---


class SipConfigIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    address: Annotated[str, Meta(min_length=1, max_length=253, description="SIP host or IP of the carrier")]
    port: Annotated[int, Meta(ge=1, le=65535)] = 5060
    transport: Literal["udp", "tcp", "tls"] = "udp"
    auth_username: Annotated[str, Meta(max_length=128)] | None = None
    #: Stored in the secrets bucket, never returned.
    auth_password: Annotated[str, Meta(max_length=256)] | None = None


class ProviderConfigIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    provider: Annotated[str, Meta(min_length=1, max_length=64, description="Carrier, e.g. twilio, telnyx, plivo")]
    account_id: Annotated[str, Meta(max_length=128)] | None = None
    #: Stored in the secrets bucket, never returned.
    api_token: Annotated[str, Meta(max_length=512)] | None = None


TrunkNumbers = Annotated[
    list[E164],
    Meta(max_length=10_000, description="E.164 numbers the trunk carries; POST /v1/trunks/{id}/sync adds them"),
]


class SipTrunkCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag="sip"):
    """A bring-your-own SIP trunk (``"type": "sip"``)."""

    name: Name
    sip: SipConfigIn
    numbers: TrunkNumbers = []


class ProviderTrunkCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag="provider"):
    """A carrier account (``"type": "provider"``)."""

    name: Name
    provider: ProviderConfigIn
    numbers: TrunkNumbers = []


TrunkCreate = SipTrunkCreate | ProviderTrunkCreate


class SipConfigOut(msgspec.Struct, kw_only=True):
    address: str
    port: int
    transport: str
    auth_username: str | None
    has_auth_password: bool


class ProviderConfigOut(msgspec.Struct, kw_only=True):
    provider: str
    account_id: str | None
    has_api_token: bool


class Trunk(msgspec.Struct, kw_only=True):
    trunk_id: str
    project_id: str
    name: str
    type: Literal["sip", "provider"]
    sip: SipConfigOut | None
    provider: ProviderConfigOut | None
    numbers: list[str]
    created_at: str
    updated_at: str


class TrunkList(msgspec.Struct):
    data: list[Trunk]


class TrunkSync(msgspec.Struct, kw_only=True):
    trunk_id: str
    #: Numbers of the trunk now present in this project.
    synced: int
    #: Of those, how many this sync added.
    new: int
    #: Numbers registered elsewhere (another trunk or project), left alone.
    skipped: list[str]


# --- API keys ---


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name


class ApiKey(msgspec.Struct, kw_only=True):
    key_id: str
    project_id: str
    name: str
    prefix: str
    revoked: bool
    created_at: str
    revoked_at: str | None


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    key_id: str
    project_id: str
    name: str
    prefix: str
    #: The secret key. Shown only in this response.
    key: str


class ApiKeyList(msgspec.Struct):
    data: list[ApiKey]


# --- health ---


class Health(msgspec.Struct, kw_only=True):
    status: str


class Readiness(msgspec.Struct, kw_only=True):
    ready: bool
    nats_connected: bool
    projection_position: int
    stream_last_seq: int | None
