"""The client's playback of the bot's audio, as the node models it, to pace what it sends.

A client plays the bot's audio as it arrives and keeps what arrives early in a buffer
(the web SDK's playback worklet, a phone bridge's jitter buffer). The node sends a
chunk once the client's buffer is down to ``LEAD_S``: so it can stall up to
``LEAD_S - MARGIN_S`` (a full garbage collection of a busy node, a burst of turns)
before the caller could hear a gap. An interruption throws that much away at the
client (``playback.clear``). Words the TTS timed are heard on the output's clock; a
sentence without word times counts as heard once its audio is sent, up to a lead early.

The lead costs no latency: the first chunk of a reply goes as soon as it exists.

A chunk is late (speech.realtime) when the client would have less than ``MARGIN_S`` of
audio left when it leaves the node, the network's share; past zero the caller hears a
gap. The client starts playing an utterance on its first chunk, so the margin is kept
from the second chunk on, out of what was sent after the first (the second chunk is
late only if the first has played out). A client quiet for ``NEW_UTTERANCE_S`` is
between utterances: the bot being silent is not the node being late.
"""

from __future__ import annotations

LEAD_S = 0.120
MARGIN_S = 0.040
NEW_UTTERANCE_S = 0.300


class ClientPlayout:
    def __init__(self, lead_s: float = LEAD_S, margin_s: float = MARGIN_S) -> None:
        self.lead_s = lead_s
        self.margin_s = margin_s
        #: When the client will have played everything sent (0: nothing sent yet).
        self.played_until = 0.0
        self._sent_s = 0.0  # audio sent in this utterance after its first chunk

    def send(self, seconds: float, now: float) -> float | None:
        """A chunk of ``seconds`` of audio leaves now. Returns how late it is (0 when on
        time), or None for the first chunk of an utterance, which nothing waited for."""
        buffered = self.played_until - now
        if not self.played_until or buffered < -NEW_UTTERANCE_S:
            self.played_until, self._sent_s = now + seconds, 0.0
            return None
        margin = min(self.margin_s, self._sent_s)  # no more than it was sent to hold it with
        self.played_until = max(self.played_until, now) + seconds
        self._sent_s += seconds
        return max(0.0, margin - buffered)

    def wait_s(self, now: float) -> float:
        """How long until the next chunk should leave: when the client is down to the lead."""
        return max(0.0, self.played_until - self.lead_s - now)

    def clear(self) -> None:
        """The client dropped what it had buffered (an interruption)."""
        self.played_until = 0.0
