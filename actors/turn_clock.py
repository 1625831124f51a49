"""Times the agent's side of each turn on the node hosting the call.

A turn's clock starts when the agent can start on it: when its ``user.text`` goes to
the runner, or, if the runner is still answering an earlier turn (turns are answered
in order), when that earlier reply ends. It stops at the first ``agent.text.delta``
(time to first token) and at ``agent.text.end`` (whole reply). Speech stages are
zero on the text path; the speech pipeline adds its own.
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

    def sent(self, turn: int) -> None:
        self._waiting.append((turn, time.monotonic()))

    def delta(self) -> None:
        if self._first is None:
            self._first = time.monotonic()

    def end(self) -> TimedReply:
        now = time.monotonic()
        first, self._first = self._first, None
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
        """The runner was lost: what it was answering is asked again of the next one."""
        self._first = None
        self._last_end = 0.0
