"""One live call, as the runner sees it: text in, text out, plus controls.

``run()`` reads the bridge until the call ends: each final user turn fires the
``user_turn`` hooks, then goes to ``dialog_machine.stream(text)`` whose chunks
are sent as ``agent.text.delta`` and closed by one ``agent.text.end``. Turns are
answered in order; ``user.interrupted`` cancels the reply being streamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("unpod.session")

HOOKS = frozenset(
    {"user_turn", "agent_turn", "interruption", "state", "metric", "turn_metrics", "call_start", "call_end", "error"}
)


def _p95(values: list[float]) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return int(round(ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]))


@dataclass(frozen=True)
class Cost:
    voice: float = 0.0
    llm: float = 0.0

    @property
    def total(self) -> float:
        return self.voice + self.llm


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0


@dataclass(frozen=True)
class CallMetrics:
    turns: int
    duration_s: float
    stt_p95_ms: int
    llm_p95_ms: int
    tts_p95_ms: int
    cost: Cost
    tokens: Tokens
    active_llm: str | None


@dataclass
class _Measurements:
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    turns: int = 0
    stt_ms: list[float] = field(default_factory=list)
    llm_ms: list[float] = field(default_factory=list)
    tts_ms: list[float] = field(default_factory=list)
    cost_voice: float = 0.0
    cost_llm: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    active_llm: str | None = None

    def add_usage(self, usage: Any) -> None:
        """What the dialog machine reports it spent on the last reply: a mapping (or
        object) with ``input_tokens``, ``output_tokens`` and ``cost_usd``, any of them."""
        if usage is None:
            return
        get = usage.get if isinstance(usage, dict) else (lambda key, default=None: getattr(usage, key, default))
        for key, attr in (("input_tokens", "tokens_in"), ("output_tokens", "tokens_out")):
            value = get(key, 0)
            if isinstance(value, int) and value > 0:
                setattr(self, attr, getattr(self, attr) + value)
        cost = get("cost_usd", 0.0)
        if isinstance(cost, int | float) and cost > 0:
            self.cost_llm += float(cost)


class _Metrics:
    def __init__(self, m: _Measurements) -> None:
        self._m = m

    def live(self) -> CallMetrics:
        m = self._m
        return CallMetrics(
            turns=m.turns,
            duration_s=round((m.ended or time.monotonic()) - m.started, 3),
            stt_p95_ms=_p95(m.stt_ms),
            llm_p95_ms=_p95(m.llm_ms),
            tts_p95_ms=_p95(m.tts_ms),
            cost=Cost(voice=m.cost_voice, llm=round(m.cost_llm, 6)),
            tokens=Tokens(input=m.tokens_in, output=m.tokens_out),
            active_llm=m.active_llm,
        )


class _Recording:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def pause(self, reason: str = "") -> None:
        await self._session._send({"event": "agent.say", "text": f"__recording_pause:{reason}"})

    async def resume(self) -> None:
        await self._session._send({"event": "agent.say", "text": "__recording_resume"})


class Session:
    def __init__(self, ws: Any, call_id: str) -> None:
        self._ws = ws
        self.call_id = call_id
        self.dialog_machine: Any = None
        self._hooks: dict[str, list[Callable[..., Any]]] = defaultdict(list)
        self._m = _Measurements()
        self.metrics = _Metrics(self._m)
        self.recording = _Recording(self)
        self._turns: asyncio.Queue[str] = asyncio.Queue()
        self._reply: asyncio.Task[None] | None = None
        self._ending: str | None = None
        self.outcome: str | None = None

    # --- hooks ---

    def on(self, name: str, fn: Callable[..., Any] | None = None):
        """Register a hook: ``@session.on("user_turn")`` or ``session.on("user_turn", fn)``."""
        if name not in HOOKS:
            raise ValueError(f"unknown hook {name!r}; known: {', '.join(sorted(HOOKS))}")

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self._hooks[name].append(f)
            return f

        return register(fn) if fn is not None else register

    async def _fire(self, name: str, *args: Any) -> None:
        for hook in self._hooks.get(name, ()):
            try:
                result = hook(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a failing hook must not take the call down
                log.exception("hook %s failed", name)

    # --- controls ---

    async def say(self, text: str) -> None:
        """Speak now (outside a reply)."""
        await self._send({"event": "agent.say", "text": text})

    async def set_filler(self, text: str) -> None:
        """What to play while the agent is slow to answer."""
        await self._send({"event": "agent.say", "text": f"__filler:{text}"})

    async def interrupt(self) -> None:
        """Stop the current reply (and its speech)."""
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()  # the reply sends its own (one) agent.text.end as it stops
            return
        await self._send({"event": "agent.text.end"})  # nothing streaming: stop what is being spoken

    async def transfer_to_human(self, queue: str = "default", *, announcement: str | None = None) -> None:
        await self._send({"event": "agent.transfer", "transfer_type": "human", "target": queue, "mode": "cold",
                          **({"announcement": announcement} if announcement else {})})  # fmt: skip

    async def transfer_to_agent(self, agent_id: str, *, announcement: str | None = None) -> None:
        """Cold transfer: the platform speaks ``announcement``, ends this session (``run()``
        returns ``"transferred"``) and puts the call, with its history, on a runner of ``agent_id``."""
        await self._send({"event": "agent.transfer", "transfer_type": "agent", "target": agent_id, "mode": "cold",
                          **({"announcement": announcement} if announcement else {})})  # fmt: skip

    async def end(self, reason: str = "completed") -> None:
        """Hang up (once: a second call does nothing)."""
        if self._ending is not None:
            return
        self._ending = reason
        await self._send({"event": "agent.end_call", "reason": reason})

    # --- the loop ---

    async def run(self) -> str:
        """Serve the call until it ends; returns how it ended."""
        await self._fire("call_start")
        worker = asyncio.create_task(self._answer_turns())
        try:
            async for raw in self._ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                await self._handle(frame)
            # The node closes a session it handed to another agent with reason "transferred".
            transferred = getattr(self._ws, "close_reason", None) == "transferred"
            self.outcome = "transferred" if transferred else (self._ending or "hangup")
        except Exception as exc:  # the bridge broke
            self.outcome = "failed"
            log.info("bridge of %s failed: %s", self.call_id, exc)
        finally:
            worker.cancel()
            if self._reply is not None:
                self._reply.cancel()
            self._m.ended = time.monotonic()
            await self._fire("call_end", self.outcome or "hangup")
        return self.outcome or "hangup"

    async def _handle(self, frame: dict[str, Any]) -> None:
        match frame.get("event"):
            case "user.text":
                text = frame.get("text") or ""
                self._m.turns += 1
                await self._fire("user_turn", text)
                await self._turns.put(text)
            case "user.interrupted":
                if self._reply is not None and not self._reply.done():
                    self._reply.cancel()
                await self._fire("interruption", frame.get("heard_prefix", ""))
            case "state":
                await self._fire("state", frame.get("state"))
            case "metric":
                if isinstance(frame.get("cost_usd_so_far"), int | float):  # the platform's (voice) cost so far
                    self._m.cost_voice = float(frame["cost_usd_so_far"])
                await self._fire("metric", frame)
            case "turn.metrics":
                for key, target in (("asr_ms", self._m.stt_ms), ("tts_ttfb_ms", self._m.tts_ms)):
                    if isinstance(frame.get(key), int | float):
                        target.append(float(frame[key]))
                await self._fire("turn_metrics", frame)
            case "error":
                await self._fire(
                    "error", frame.get("code"), frame.get("message"), frame.get("severity"), frame.get("source")
                )

    async def _answer_turns(self) -> None:
        while True:
            text = await self._turns.get()
            if self.dialog_machine is None:
                continue
            self._reply = asyncio.create_task(self._stream_reply(text))
            with contextlib.suppress(asyncio.CancelledError):
                await self._reply

    async def _stream_reply(self, text: str) -> None:
        started = time.monotonic()
        first: float | None = None
        chunks: list[str] = []
        try:
            async for chunk in self.dialog_machine.stream(text):
                if first is None:
                    first = time.monotonic() - started
                chunks.append(chunk)
                await self._send({"event": "agent.text.delta", "text": chunk})
        except asyncio.CancelledError:
            await self._send({"event": "agent.text.end"})  # exactly one end per turn, also when interrupted
            raise
        except Exception as exc:
            log.exception("dialog machine failed on %r", text)
            await self._fire("error", "agent_error", str(exc), "error", "internal")
        self._m.llm_ms.append(1000 * (first if first is not None else time.monotonic() - started))
        self._m.add_usage(getattr(self.dialog_machine, "last_usage", None))
        self._m.active_llm = getattr(self.dialog_machine, "model", None) or type(self.dialog_machine).__name__
        await self._send({"event": "agent.text.end"})
        await self._fire("agent_turn", "".join(chunks))
        if getattr(self.dialog_machine, "is_complete", False):
            await self.end("completed")

    async def _send(self, frame: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # a closed bridge: run() notices and ends
            await self._ws.send(json.dumps(frame))
