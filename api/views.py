"""Read-model rows and catalog entries -> response DTOs."""

from __future__ import annotations

from typing import Any

from api import dto
from bus_contracts.voice_profiles import VoiceProfile


def profile(p: VoiceProfile) -> dto.VoiceProfile:
    order = p.failover_order
    return dto.VoiceProfile(
        profile_id=p.profile_id,
        name=p.name,
        description=p.description,
        language=p.language,
        gender=p.gender,
        stt_provider=p.stt_provider,
        stt_model=p.stt_model,
        tts_provider=p.tts_provider,
        tts_voice=p.tts_voice,
        failover_order=dto.FailoverOrder(stt=order["stt"], tts=order["tts"]),
        estimated_latency_ms=p.estimated_latency_ms,
        estimated_cost_per_min_usd=p.estimated_cost_per_min_usd,
    )


def pipe(row: dict[str, Any]) -> dto.Pipe:
    return dto.Pipe(
        pipe_id=row["pipe_id"],
        project_id=row["project_id"],
        name=row["name"],
        voice_profile_id=row["voice_profile_id"],
        agent_id=row["agent_id"],
        agent_endpoint=row["agent_endpoint"],
        recording=bool(row["recording"]),
        max_call_duration_s=row["max_call_duration_s"],
        first_speaker=row["first_speaker"],
        barge_in_min_speech_s=row["barge_in_min_speech_s"],
        numbers=list(row.get("numbers", [])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def number(row: dict[str, Any]) -> dto.Number:
    return dto.Number(
        id=row["number_id"],
        number=row["number"],
        project_id=row["project_id"],
        status=row["status"],
        pipe_id=row["pipe_id"],
        trunk_id=row["trunk_id"],
        source=row["source"],
        country=row["country"],
        capabilities=list(row["capabilities"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def trunk(row: dict[str, Any]) -> dto.Trunk:
    config = row["config"] or {}
    sip = provider = None
    if row["type"] == "sip":
        sip = dto.SipConfigOut(
            address=config["address"],
            port=config.get("port", 5060),
            transport=config.get("transport", "udp"),
            auth_username=config.get("auth_username"),
            has_auth_password=config.get("has_auth_password", False),
        )
    else:
        provider = dto.ProviderConfigOut(
            provider=config["provider"],
            account_id=config.get("account_id"),
            has_api_token=config.get("has_api_token", False),
        )
    return dto.Trunk(
        trunk_id=row["trunk_id"],
        project_id=row["project_id"],
        name=row["name"],
        type=row["type"],
        sip=sip,
        provider=provider,
        numbers=list(row["numbers"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def api_key(row: dict[str, Any]) -> dto.ApiKey:
    return dto.ApiKey(
        key_id=row["key_id"],
        project_id=row["project_id"],
        name=row["name"],
        prefix=row["prefix"],
        revoked=bool(row["revoked"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
