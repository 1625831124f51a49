"""Load the offline speech models once, before the first call needs them: the node
does this in a thread at start, so the first caller does not wait 2-3 s (and many
first callers at once do not each load their own)."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("unpod.speech")


def warm_up() -> None:
    started = time.monotonic()
    from speech.piper_tts import DEFAULT_VOICE, shared_voice
    from speech.pocketsphinx_stt import DECODERS
    from speech.vad import shared_session

    shared_session()
    shared_voice(DEFAULT_VOICE)
    DECODERS.give_back(DECODERS.take())
    log.info("speech models loaded in %.1f s", time.monotonic() - started)
