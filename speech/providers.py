"""From a voice profile's chains to running Pipecat services, in failover order.

A provider is skipped at session start, with the reason, when it cannot start here:
a cloud provider without its API key (from the environment), an offline one whose
model or program is missing. The first that can start serves the session and the others
are a cold standby (speech.failover), started if it fails mid-call; every skip and switch is
reported (an event on the call and a warning to the client), so a cloud-first profile
on a machine with no keys and no network still speaks, with the local providers.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from bus_contracts.voice_profiles import ProviderRef

#: The environment variable holding each cloud provider's key, and the one that may
#: point it elsewhere (a regional endpoint, a proxy, or a test's fake).
API_KEYS = {"deepgram": "DEEPGRAM_API_KEY", "cartesia": "CARTESIA_API_KEY", "elevenlabs": "ELEVENLABS_API_KEY"}
URLS = {"deepgram": "UNPOD_DEEPGRAM_URL", "cartesia": "UNPOD_CARTESIA_URL", "elevenlabs": "UNPOD_ELEVENLABS_URL"}
#: The Pipecat module of each cloud provider's service (imported when first built: by
#: speech.warm at the node's start when its key is set, else by the first call needing it).
PIPECAT_MODULES = {
    "deepgram": "pipecat.services.deepgram.stt",
    "cartesia": "pipecat.services.cartesia.tts",
    "elevenlabs": "pipecat.services.elevenlabs.tts",
}
#: How long Pipecat waits for an utterance's first audio from a local voice (espeak-ng,
#: Piper) before it gives the utterance up as silent. Its default, 3 s, is for a cloud
#: provider that may never answer; a local voice that fails says so itself, and one
#: started on a busy machine can be slow to speak: espeak-ng on a loaded 2-core CI
#: machine once took 3.5 s, and the words were lost.
LOCAL_FIRST_AUDIO_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Skipped:
    provider: str
    reason: str


def unavailable(ref: ProviderRef, env: Mapping[str, str]) -> str | None:
    """Why ``ref`` cannot start here, or None if it can."""
    if ref.provider not in STT_BUILDERS and ref.provider not in TTS_BUILDERS:
        return f"unknown provider {ref.provider!r}"
    if ref.provider in API_KEYS and not env.get(API_KEYS[ref.provider]):
        return f"no {API_KEYS[ref.provider]} in the environment"
    if ref.provider == "pocketsphinx" and importlib.util.find_spec("pocketsphinx") is None:
        return "pocketsphinx is not installed"
    if ref.provider == "espeak-ng":
        from speech.espeak_tts import executable

        if executable() is None:
            return "espeak-ng is not installed (Debian package espeak-ng)"
    if ref.provider == "piper":
        from speech.piper_tts import DEFAULT_VOICE, voice_path

        try:
            voice_path(ref.voice or DEFAULT_VOICE)
        except (FileNotFoundError, ImportError) as exc:
            return str(exc)
    return None


def usable(
    chain: tuple[ProviderRef, ...], env: Mapping[str, str] | None = None
) -> tuple[list[ProviderRef], list[Skipped]]:
    """The providers of ``chain`` that can start here, in order, and those that cannot."""
    env = os.environ if env is None else env
    ready: list[ProviderRef] = []
    skipped: list[Skipped] = []
    for ref in chain:
        reason = unavailable(ref, env)
        if reason is None:
            ready.append(ref)
        else:
            skipped.append(Skipped(ref.provider, reason))
    return ready, skipped


# STT services are the last stop of the caller's audio (audio_passthrough=False): nothing
# after them needs it, and every frame passed on costs a hop through each processor.


def _given(**settings: str | None) -> dict[str, str]:
    """Only the settings the profile names: the rest keep the service's defaults."""
    return {k: v for k, v in settings.items() if v is not None}


def _pocketsphinx(ref: ProviderRef, env: Mapping[str, str]) -> STTService:
    from speech.pocketsphinx_stt import PocketsphinxSTTService

    return PocketsphinxSTTService(audio_passthrough=False)


def _deepgram(ref: ProviderRef, env: Mapping[str, str]) -> STTService:
    DeepgramSTTService = importlib.import_module(PIPECAT_MODULES["deepgram"]).DeepgramSTTService
    settings = DeepgramSTTService.Settings(**_given(model=ref.model))
    service = DeepgramSTTService(
        api_key=env[API_KEYS["deepgram"]],
        base_url=env.get(URLS["deepgram"], ""),
        settings=settings,
        audio_passthrough=False,
        # Its work per audio frame is one socket send: queued, each frame also costs a
        # queue hop and a task switch, more CPU than the send (profiled at 50 calls).
        enable_direct_mode=True,
    )
    _headers_made_once(service)
    return service


def _headers_made_once(service: STTService) -> None:
    """The Deepgram SDK makes its request headers anew at every connect, on the event
    loop, and reads its own version from the installed package's metadata to do it (a
    directory scan and a parse: 1.6 ms of the loop a call, sampled with 50 calls starting
    at once). Made here instead, in the builder's thread, once for the session."""
    wrapper = getattr(getattr(service, "_client", None), "_client_wrapper", None)
    if wrapper is None:  # an SDK that keeps its client elsewhere: it makes them itself
        return
    headers = wrapper.get_headers()
    wrapper.get_headers = lambda: dict(headers)  # a copy: connect adds to what it gets


def _piper(ref: ProviderRef, env: Mapping[str, str]) -> TTSService:
    from speech.piper_tts import DEFAULT_VOICE, LocalPiperTTSService

    return LocalPiperTTSService(voice=ref.voice or DEFAULT_VOICE)


def _espeak(ref: ProviderRef, env: Mapping[str, str]) -> TTSService:
    from speech.espeak_tts import DEFAULT_VOICE, EspeakTTSService

    return EspeakTTSService(voice=ref.voice or DEFAULT_VOICE)


def _cartesia(ref: ProviderRef, env: Mapping[str, str]) -> TTSService:
    CartesiaTTSService = importlib.import_module(PIPECAT_MODULES["cartesia"]).CartesiaTTSService
    url = env.get(URLS["cartesia"]) or "wss://api.cartesia.ai/tts/websocket"
    settings = CartesiaTTSService.Settings(**_given(voice=ref.voice, model=ref.model))
    return CartesiaTTSService(api_key=env[API_KEYS["cartesia"]], url=url, settings=settings)


def _elevenlabs(ref: ProviderRef, env: Mapping[str, str]) -> TTSService:
    ElevenLabsTTSService = importlib.import_module(PIPECAT_MODULES["elevenlabs"]).ElevenLabsTTSService
    url = env.get(URLS["elevenlabs"]) or "wss://api.elevenlabs.io"
    settings = ElevenLabsTTSService.Settings(**_given(voice=ref.voice, model=ref.model))
    return ElevenLabsTTSService(api_key=env[API_KEYS["elevenlabs"]], url=url, settings=settings)


STT_BUILDERS: dict[str, Callable[[ProviderRef, Mapping[str, str]], STTService]] = {
    "deepgram": _deepgram,
    "pocketsphinx": _pocketsphinx,
}
TTS_BUILDERS: dict[str, Callable[[ProviderRef, Mapping[str, str]], TTSService]] = {
    "cartesia": _cartesia,
    "elevenlabs": _elevenlabs,
    "piper": _piper,
    "espeak-ng": _espeak,
}
