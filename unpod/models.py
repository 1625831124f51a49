"""Typed views of API resources. Unknown fields from a newer server are ignored."""

from __future__ import annotations

from typing import Any

import msgspec


class Pipe(msgspec.Struct, kw_only=True):
    pipe_id: str
    name: str
    project_id: str = ""
    voice_profile_id: str | None = None
    agent_id: str | None = None
    agent_endpoint: str | None = None
    recording: bool = False
    max_call_duration_s: int = 3600
    first_speaker: str = "agent"
    barge_in_min_speech_s: float = 0.6
    numbers: list[str] = []
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def id(self) -> str:
        return self.pipe_id


class Number(msgspec.Struct, kw_only=True):
    id: str
    number: str
    project_id: str = ""
    status: str = "available"
    pipe_id: str | None = None
    trunk_id: str | None = None
    source: str = "byon"
    country: str | None = None
    capabilities: list[str] = []
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def number_id(self) -> str:
        return self.id


class SipConfig(msgspec.Struct, kw_only=True):
    address: str
    port: int = 5060
    transport: str = "udp"
    auth_username: str | None = None
    has_auth_password: bool = False


class ProviderConfig(msgspec.Struct, kw_only=True):
    provider: str
    account_id: str | None = None
    has_api_token: bool = False


class Trunk(msgspec.Struct, kw_only=True):
    trunk_id: str
    name: str
    type: str
    project_id: str = ""
    sip: SipConfig | None = None
    provider: ProviderConfig | None = None
    numbers: list[str] = []
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def id(self) -> str:
        return self.trunk_id


class TrunkSync(msgspec.Struct, kw_only=True):
    trunk_id: str
    synced: int
    new: int
    skipped: list[str] = []


class FailoverOrder(msgspec.Struct, kw_only=True):
    stt: list[str] = []
    tts: list[str] = []


class VoiceProfile(msgspec.Struct, kw_only=True):
    profile_id: str
    name: str
    language: str
    description: str = ""
    gender: str | None = None
    stt_provider: str | None = None
    stt_model: str | None = None
    tts_provider: str | None = None
    tts_voice: str | None = None
    failover_order: FailoverOrder = msgspec.field(default_factory=FailoverOrder)
    estimated_latency_ms: int | None = None
    estimated_cost_per_min_usd: float | None = None

    @property
    def id(self) -> str:
        return self.profile_id


class ApiKey(msgspec.Struct, kw_only=True):
    key_id: str
    name: str
    prefix: str
    project_id: str = ""
    revoked: bool = False
    created_at: str | None = None
    revoked_at: str | None = None


class CreatedApiKey(msgspec.Struct, kw_only=True):
    key_id: str
    name: str
    prefix: str
    key: str
    project_id: str = ""


class SessionToken(msgspec.Struct, kw_only=True):
    token: str
    expires_at: float
    pipe_id: str = ""


def convert(data: Any, model: type) -> Any:
    return msgspec.convert(data, model, strict=False)
