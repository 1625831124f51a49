"""From a voice profile's chains to running Pipecat services, in failover order.

A provider is skipped at session start, with the reason, when it cannot start here:
a cloud provider without its API key (from the environment) or without its Pipecat
service installed, an offline one whose model or binary is missing. The first that
can start serves the session; every skip is reported (an event on the call and a
warning to the client), so a cloud-first profile on a machine with no keys and no
network still speaks, with the local providers.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from bus_contracts.voice_profiles import ProviderRef

#: The environment variable holding each cloud provider's key.
API_KEYS = {"deepgram": "DEEPGRAM_API_KEY", "cartesia": "CARTESIA_API_KEY", "elevenlabs": "ELEVENLABS_API_KEY"}
#: The module a cloud provider's Pipecat service needs (its pip extra).
CLOUD_MODULES = {"deepgram": "deepgram", "cartesia": "cartesia", "elevenlabs": "websockets"}


@dataclass(frozen=True)
class Skipped:
    provider: str
    reason: str


def unavailable(ref: ProviderRef, env: Mapping[str, str]) -> str | None:
    """Why ``ref`` cannot start here, or None if it can."""
    match ref.provider:
        case "pocketsphinx":
            return None if importlib.util.find_spec("pocketsphinx") else "pocketsphinx is not installed"
        case "piper":
            from speech.piper_tts import voice_path

            try:
                voice_path(ref.voice or "en_US-joe-medium")
            except (FileNotFoundError, ImportError) as exc:
                return str(exc)
            return None
        case "espeak-ng":
            if not shutil.which("espeak-ng"):
                return "espeak-ng is not installed"
            return "espeak-ng is not wired in this build yet"
        case provider if provider in API_KEYS:
            if not env.get(API_KEYS[provider]):
                return f"no {API_KEYS[provider]} in the environment"
            if importlib.util.find_spec(CLOUD_MODULES[provider]) is None:
                return f"the {provider} provider is not installed (pip install 'pipecat-ai[{provider}]')"
            return "cloud providers are not wired in this build yet"
        case _:
            return f"unknown provider {ref.provider!r}"


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
