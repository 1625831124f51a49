"""Times the agent's side of each turn on the node hosting the call.

A turn's clock starts when the agent can start on it: when its ``user.text`` goes to
the runner, or, if the runner is still answering an earlier turn (turns are answered
in order, one ``agent.text.end`` each), when that earlier reply ends. It stops at the
first ``agent.text.delta`` (time to first token) and at ``agent.text.end`` (whole
reply). The speech stages stay 0 on the text path; the speech pipeline adds its own.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from bus_contracts.calls import TurnTimings


@dataclass(frozen=True)
class TimedReply:
    #: The user turn this reply answers (None: a reply nobody asked for).
    turn: int | None
    timings: TurnTimings


class TurnClock:
    def __init__(self) -> None:
        self._waiting: deque[tuple[int, float]] = deque()  # (turn, sent at), oldest first
        self._last_end = 0.0
        self._first: float | None = None

    @property
    def current(self) -> int | None:
        """The turn the agent is answering now, if any."""
        return self._waiting[0][0] if self._waiting else None

    def sent(self, turn: int) -> None:
        self._waiting.append((turn, time.monotonic()))

    def delta(self) -> None:
        if self._first is None:
            self._first = time.monotonic()

    def end(self, answered: int = 0) -> TimedReply:
        """The reply ended; ``answered`` is the last turn already replied to on record
        (turns answered some other way, say by ``agent.say``, are not waited for)."""
        now = time.monotonic()
        first, self._first = self._first, None
        while self._waiting and self._waiting[0][0] <= answered:
            self._waiting.popleft()
        if not self._waiting:
            self._last_end = now
            return TimedReply(None, TurnTimings())
        turn, sent = self._waiting.popleft()
        start = max(sent, self._last_end)
        self._last_end = now
        ttft = (first if first is not None else now) - start
        return TimedReply(
            turn, TurnTimings(agent_ttft_ms=round(1000 * ttft, 3), agent_total_ms=round(1000 * (now - start), 3))
        )

    def forget(self) -> None:
        """The runner is gone (lost or handed over): nothing it was answering is
        waited for; the turns it left unanswered are sent again, and timed again."""
        self._waiting.clear()
        self._first = None
        self._last_end = 0.0
