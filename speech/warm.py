"""Load the offline speech models once, before the first call needs them: the node
does this in a thread at start, so the first caller does not wait 2-3 s (and many
first callers at once do not each load their own). The code a call's pipeline runs
(Pipecat's worker, and the cloud providers with keys here) is imported too: importing it
on the first call held the loop, and every other call on the node, for about 0.3 s."""

from __future__ import annotations

import importlib
import logging
import os
import time

log = logging.getLogger("unpod.speech")


def warm_up() -> None:
    started = time.monotonic()
    from speech.piper_tts import DEFAULT_VOICE, shared_voice
    from speech.pocketsphinx_stt import DECODERS
    from speech.providers import API_KEYS, PIPECAT_MODULES
    from speech.vad import shared_session

    shared_session()
    shared_voice(DEFAULT_VOICE)
    DECODERS.give_back(DECODERS.take())
    importlib.import_module("speech.session")
    for provider, module in PIPECAT_MODULES.items():
        if os.environ.get(API_KEYS[provider]):
            importlib.import_module(module)
    log.info("speech models loaded in %.1f s", time.monotonic() - started)
