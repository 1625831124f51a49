"""The read-only voice profile catalog.

A profile binds an STT chain and a TTS chain in failover order. Cloud providers
come first where they sound best; every profile ends in offline providers, so a
profile keeps working with no network or keys (the speech layer fails over).
"""

from __future__ import annotations

from typing import Literal

import msgspec


class ProviderRef(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    model: str | None = None
    voice: str | None = None
    offline: bool = False


class VoiceProfile(msgspec.Struct, frozen=True, kw_only=True):
    profile_id: str
    name: str
    description: str
    language: str
    gender: Literal["male", "female", "neutral"]
    stt_provider: str
    stt_model: str | None
    tts_provider: str
    tts_voice: str | None
    #: STT then TTS chains, first = preferred. Each ends in an offline provider.
    stt_failover: tuple[ProviderRef, ...]
    tts_failover: tuple[ProviderRef, ...]
    estimated_latency_ms: int
    estimated_cost_per_min_usd: float

    @property
    def failover_order(self) -> dict[str, list[str]]:
        return {
            "stt": [p.provider for p in self.stt_failover],
            "tts": [p.provider for p in self.tts_failover],
        }


_POCKETSPHINX = ProviderRef(provider="pocketsphinx", model="en-us", offline=True)
_PIPER_JOE = ProviderRef(provider="piper", voice="en_US-joe-medium", offline=True)
_ESPEAK = ProviderRef(provider="espeak-ng", voice="en-us", offline=True)
# The cloud providers take voice ids, not names (``tts_voice`` below is the name people read).
_CARTESIA_MALE = "a0e99841-438c-4a64-b679-ae501e7d6091"
_CARTESIA_FEMALE = "694f9389-aac1-45b6-b726-9d9369183238"
_ELEVENLABS_ADAM = "pNInz6obpgDQGcFmaJgB"
_ELEVENLABS_RACHEL = "21m00Tcm4TlvDq8ikWAM"

CATALOG: tuple[VoiceProfile, ...] = (
    VoiceProfile(
        profile_id="vp_en_male_std",
        name="English (US), male, standard",
        description="Deepgram Nova-3 STT with Cartesia Sonic TTS; ElevenLabs as second TTS; offline fallback.",
        language="en-US",
        gender="male",
        stt_provider="deepgram",
        stt_model="nova-3",
        tts_provider="cartesia",
        tts_voice="sonic-english-male",
        stt_failover=(ProviderRef(provider="deepgram", model="nova-3"), _POCKETSPHINX),
        tts_failover=(
            ProviderRef(provider="cartesia", model="sonic-2", voice=_CARTESIA_MALE),
            ProviderRef(provider="elevenlabs", model="eleven_flash_v2_5", voice=_ELEVENLABS_ADAM),
            _PIPER_JOE,
            _ESPEAK,
        ),
        estimated_latency_ms=700,
        estimated_cost_per_min_usd=0.045,
    ),
    VoiceProfile(
        profile_id="vp_en_female_std",
        name="English (US), female, standard",
        description="Deepgram Nova-3 STT with ElevenLabs TTS; Cartesia as second TTS; offline fallback.",
        language="en-US",
        gender="female",
        stt_provider="deepgram",
        stt_model="nova-3",
        tts_provider="elevenlabs",
        tts_voice="Rachel",
        stt_failover=(ProviderRef(provider="deepgram", model="nova-3"), _POCKETSPHINX),
        tts_failover=(
            ProviderRef(provider="elevenlabs", model="eleven_flash_v2_5", voice=_ELEVENLABS_RACHEL),
            ProviderRef(provider="cartesia", model="sonic-2", voice=_CARTESIA_FEMALE),
            _PIPER_JOE,
            _ESPEAK,
        ),
        estimated_latency_ms=750,
        estimated_cost_per_min_usd=0.06,
    ),
    VoiceProfile(
        profile_id="vp_local_en",
        name="English (US), offline",
        description="Runs entirely on the node: pocketsphinx STT, Piper (joe) TTS, espeak-ng as last resort.",
        language="en-US",
        gender="male",
        stt_provider="pocketsphinx",
        stt_model="en-us",
        tts_provider="piper",
        tts_voice="en_US-joe-medium",
        stt_failover=(_POCKETSPHINX,),
        tts_failover=(_PIPER_JOE, _ESPEAK),
        estimated_latency_ms=900,
        estimated_cost_per_min_usd=0.0,
    ),
)

_BY_ID = {p.profile_id: p for p in CATALOG}

#: Used when a pipe names no profile.
DEFAULT_PROFILE_ID = "vp_local_en"


def get_profile(profile_id: str) -> VoiceProfile | None:
    return _BY_ID.get(profile_id)
