"""``AgentRunner``: the one owner of a runner process's lifecycle.

It keeps a control socket to the orchestrator (register, heartbeats, job.ack),
reconnecting with jittered backoff; accepts a dispatched call when it has a free
slot, dials the call's bridge, and runs the entrypoint with a ``CallContext``.
SIGTERM (or ``await shutdown()``) drains: no new calls, running ones finish
(up to ``drain_timeout_s``), then it exits. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import signal
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from runner.context import CallContext
from runner.session import Session

log = logging.getLogger("unpod.runner")
Entrypoint = Callable[[CallContext], Awaitable[None]]
BRIDGE_HANDSHAKE_S = 10.0


class AuthenticationFailed(Exception):
    """The orchestrator refused the API key (close 4001): retrying cannot help."""


@dataclass(frozen=True)
class RunnerStats:
    in_flight: int
    queued: int
    capacity: int
    completed_last_hour: int
    failed_last_hour: int
    mean_call_duration_s: float


def _ws_base(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.startswith("https://"):
        return "wss://" + url[8:]
    if url.startswith("http://"):
        return "ws://" + url[7:]
    if url.startswith(("ws://", "wss://")):
        return url
    return "wss://" + url


class AgentRunner:
    def __init__(
        self,
        entrypoint: Entrypoint,
        agent_id: str | None = None,
        max_sessions: int = 10,
        drain_timeout_s: float = 30.0,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.entrypoint = entrypoint
        self.agent_id = agent_id or os.environ.get("UNPOD_AGENT_ID") or ""
        if not self.agent_id:
            raise ValueError("agent_id is required (or set UNPOD_AGENT_ID); it must match the pipe's agent_id")
        self.max_sessions = max_sessions
        self.drain_timeout_s = drain_timeout_s
        self.api_key = api_key or os.environ.get("UNPOD_API_KEY") or ""
        if not self.api_key:
            raise ValueError("api_key is required (or set UNPOD_API_KEY)")
        self.base_url = _ws_base(base_url or os.environ.get("UNPOD_BASE_URL") or "http://127.0.0.1:8700")
        self.worker_id = f"{self.agent_id}#{secrets.token_hex(4)}"
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._draining = False
        self._stopped = asyncio.Event()
        self._control: Any = None
        self._queued = 0
        self._finished: deque[tuple[float, bool, float]] = deque()  # (ended_at, ok, duration_s)
        self.registered = asyncio.Event()

    # --- public API ---

    def start(self) -> None:
        """Run until SIGTERM/SIGINT (then drain) or an authentication failure. Blocking."""
        asyncio.run(self._main())

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.shutdown()))
        await self.run()

    async def run(self) -> None:
        """Keep the control socket up (with jittered backoff) until shut down."""
        backoff = 1.0
        while not self._draining:
            try:
                await self._control_session()
                backoff = 1.0
            except AuthenticationFailed:
                log.error("the orchestrator refused the API key; stopping")
                raise
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as exc:
                if self._draining:
                    break
                delay = backoff * random.uniform(0.5, 1.5)
                log.warning("control link lost (%s); reconnecting in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), delay)
                backoff = min(backoff * 2, 30.0)
        await self._stopped.wait()

    async def shutdown(self) -> None:
        """Drain: take no new calls, let running ones finish (bounded), then stop."""
        if self._draining:
            await self._stopped.wait()
            return
        self._draining = True
        log.info("draining %d call(s), up to %.0fs", len(self._jobs), self.drain_timeout_s)
        if self._jobs:
            _, pending = await asyncio.wait(list(self._jobs.values()), timeout=self.drain_timeout_s)
            for task in pending:
                task.cancel()
        if self._control is not None:
            with contextlib.suppress(Exception):
                await self._control.close()
        self._stopped.set()

    def stats(self) -> RunnerStats:
        cutoff = time.time() - 3600
        while self._finished and self._finished[0][0] < cutoff:
            self._finished.popleft()
        done = list(self._finished)
        durations = [d for _, _, d in done]
        return RunnerStats(
            in_flight=len(self._jobs),
            queued=self._queued,
            capacity=self.max_sessions,
            completed_last_hour=sum(1 for _, ok, _ in done if ok),
            failed_last_hour=sum(1 for _, ok, _ in done if not ok),
            mean_call_duration_s=round(sum(durations) / len(durations), 3) if durations else 0.0,
        )

    # --- control socket ---

    async def _control_session(self) -> None:
        url = f"{self.base_url}/v1/internal/workers"
        async with connect(url, additional_headers={"Authorization": f"Bearer {self.api_key}"}, open_timeout=10) as ws:
            self._control = ws
            await ws.send(json.dumps({
                "type": "register",
                "worker_id": self.worker_id,
                "pool": self.agent_id,
                "capabilities": {"agent_id": self.agent_id, "max_concurrent": self.max_sessions,
                                 "transport": "dial_out", "kind": "brain", "voice_profiles": [],
                                 "hostname": socket.gethostname(), "features": ["pool.status"]},
            }))  # fmt: skip
            try:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code in (4001, 1008):
                    raise AuthenticationFailed(exc.rcvd.reason) from exc
                raise
            if first.get("type") != "registered" or first.get("transport_ack") != "dial_out":
                raise ConnectionError(f"unexpected answer to register: {first}")
            self.registered.set()
            beat = asyncio.create_task(self._heartbeats(ws, int(first.get("heartbeat_interval_s") or 5)))
            try:
                async for raw in ws:
                    await self._on_control(ws, json.loads(raw))
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code in (4001, 1008):
                    raise AuthenticationFailed(exc.rcvd.reason) from exc
                raise
            finally:
                beat.cancel()
                self.registered.clear()
                self._control = None
            if not self._draining:
                raise ConnectionError("control socket closed")

    async def _heartbeats(self, ws: Any, interval: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.send(
                    json.dumps({"type": "heartbeat", "active_jobs": len(self._jobs), "worker_id": self.worker_id})
                )
                await asyncio.sleep(interval)

    async def _on_control(self, ws: Any, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "job.assign":
            reason = None
            if self._draining:
                reason = "draining"
            elif frame.get("agent_id") != self.agent_id:
                reason = "agent_id_mismatch"
            elif len(self._jobs) >= self.max_sessions:
                reason = "at_capacity"
            ack = {
                "type": "job.ack",
                "job_id": frame["job_id"],
                "assign_id": frame.get("assign_id", ""),
                "accepted": reason is None,
            }
            if reason:
                ack["reason"] = reason
            await ws.send(json.dumps(ack))
            if reason is None:
                self._jobs[frame["job_id"]] = asyncio.create_task(self._job(frame))
        elif kind == "job.cancel":
            task = self._jobs.get(frame.get("job_id", ""))
            if task is not None:
                task.cancel()
        elif kind == "pool.status":
            self._queued = int(frame.get("queued", 0))

    # --- one call ---

    async def _job(self, assign: dict[str, Any]) -> None:
        started = time.monotonic()
        ok = False
        try:
            async with connect(f"{assign['bridge_url']}?token={assign['call_token']}", open_timeout=5) as bridge:
                await bridge.send(
                    json.dumps({"event": "hello", "protocol_version": 2, "supported_events": [], "supported_verbs": []})
                )
                async with asyncio.timeout(BRIDGE_HANDSHAKE_S):
                    ack = json.loads(await bridge.recv())
                    started_frame = json.loads(await bridge.recv())
                if ack.get("event") != "hello.ack" or started_frame.get("event") != "call.started":
                    raise ConnectionError("bad bridge handshake")
                meta = started_frame.get("metadata") or {}
                call_id = meta.get("call_id") or ack.get("call_id") or assign["call_id"]
                session = Session(bridge, call_id)
                ctx = CallContext(
                    call_id=call_id,
                    session_id=started_frame.get("session_id", call_id),
                    agent_id=started_frame.get("agent_id", self.agent_id),
                    direction=meta.get("direction", ""),
                    user_number=meta.get("user_number", ""),
                    instructions=meta.get("instructions", ""),
                    data=meta.get("data") or {},
                    session=session,
                    history=meta.get("history") or [],
                    voice_profile_id=started_frame.get("voice_profile_id", ""),
                    first_speaker=meta.get("first_speaker", "agent"),
                )
                await self.entrypoint(ctx)
                if session.outcome is None:  # the entrypoint returned without running the session
                    await session.end("completed")
                ok = session.outcome != "failed"
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("call %s failed", assign.get("call_id"))
        finally:
            self._jobs.pop(assign["job_id"], None)
            self._finished.append((time.time(), ok, time.monotonic() - started))
