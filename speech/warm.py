"""Load the offline speech models once, before the first call needs them: the node
does this in a thread at start, so the first caller does not wait 2-3 s (and many
first callers at once do not each load their own). The code a call's pipeline runs is
loaded too: Pipecat's worker, and each cloud provider with its key here, built once as a
call builds it, and its SDK's live client, which Deepgram's imports on first connect.
Importing these on the first calls held the loop, and every other call on the node,
for 0.2-0.4 s (bench/audio.py, the first step's start); tests/test_warm_up.py checks
that a call's providers import nothing after this."""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Mapping

log = logging.getLogger("unpod.speech")


def warm_up(env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    started = time.monotonic()
    from speech.piper_tts import DEFAULT_VOICE, shared_voice
    from speech.pocketsphinx_stt import DECODERS
    from speech.vad import shared_session

    shared_session()
    shared_voice(DEFAULT_VOICE)
    DECODERS.give_back(DECODERS.take())
    importlib.import_module("speech.session")
    _load_cloud_providers(env)
    log.info("speech models loaded in %.1f s", time.monotonic() - started)


def _load_cloud_providers(env: Mapping[str, str]) -> None:
    from bus_contracts.voice_profiles import ProviderRef
    from speech.providers import API_KEYS, STT_BUILDERS, TTS_BUILDERS

    for provider, key in API_KEYS.items():
        if env.get(key):
            build = STT_BUILDERS.get(provider) or TTS_BUILDERS[provider]
            build(ProviderRef(provider=provider), env)  # constructs its SDK client: nothing connects
    if env.get(API_KEYS["deepgram"]):
        from deepgram import AsyncDeepgramClient

        AsyncDeepgramClient(api_key="warm-up").listen.v1  # noqa: B018 (the attribute imports the live client)
