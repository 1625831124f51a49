"""From a voice profile's chains to running Pipecat services, in failover order.

A provider is skipped at session start, with the reason, when it cannot start here:
a cloud provider without its API key (from the environment), one this build has no
service for yet, an offline one whose model is missing. The first that
can start serves the session; every skip is reported (an event on the call and a
warning to the client), so a cloud-first profile on a machine with no keys and no
network still speaks, with the local providers.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from bus_contracts.voice_profiles import ProviderRef

#: The environment variable holding each cloud provider's key.
API_KEYS = {"deepgram": "DEEPGRAM_API_KEY", "cartesia": "CARTESIA_API_KEY", "elevenlabs": "ELEVENLABS_API_KEY"}


@dataclass(frozen=True)
class Skipped:
    provider: str
    reason: str


def unavailable(ref: ProviderRef, env: Mapping[str, str]) -> str | None:
    """Why ``ref`` cannot start here, or None if it can."""
    if ref.provider in API_KEYS and not env.get(API_KEYS[ref.provider]):
        return f"no {API_KEYS[ref.provider]} in the environment"
    if ref.provider not in STT_BUILDERS and ref.provider not in TTS_BUILDERS:
        known = ref.provider in API_KEYS or ref.provider == "espeak-ng"
        return "not wired in this build yet" if known else f"unknown provider {ref.provider!r}"
    if ref.provider == "pocketsphinx" and importlib.util.find_spec("pocketsphinx") is None:
        return "pocketsphinx is not installed"
    if ref.provider == "piper":
        from speech.piper_tts import DEFAULT_VOICE, voice_path

        try:
            voice_path(ref.voice or DEFAULT_VOICE)
        except (FileNotFoundError, ImportError) as exc:
            return str(exc)
    return None


def choose(
    chain: tuple[ProviderRef, ...], env: Mapping[str, str] | None = None
) -> tuple[ProviderRef | None, list[Skipped]]:
    """The first provider of ``chain`` that can start here, and those skipped before it."""
    env = os.environ if env is None else env
    skipped: list[Skipped] = []
    for ref in chain:
        reason = unavailable(ref, env)
        if reason is None:
            return ref, skipped
        skipped.append(Skipped(ref.provider, reason))
    return None, skipped


def _pocketsphinx(ref: ProviderRef) -> STTService:
    from speech.pocketsphinx_stt import PocketsphinxSTTService

    return PocketsphinxSTTService()


def _piper(ref: ProviderRef) -> TTSService:
    from speech.piper_tts import DEFAULT_VOICE, LocalPiperTTSService

    return LocalPiperTTSService(voice=ref.voice or DEFAULT_VOICE)


STT_BUILDERS: dict[str, Callable[[ProviderRef], STTService]] = {"pocketsphinx": _pocketsphinx}
TTS_BUILDERS: dict[str, Callable[[ProviderRef], TTSService]] = {"piper": _piper}
