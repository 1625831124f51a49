"""A test peer for door 2 that speaks the real control protocol over a real
WebSocket (as the published SDK does), with a scriptable answer to job.assign."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable

from websockets.asyncio.client import connect


class RawRunner:
    def __init__(
        self,
        ws_url: str,
        api_key: str,
        agent_id: str = "bot",
        *,
        capacity: int = 2,
        answer: Callable[[dict], dict | None] | None = None,
        scheme: str = "Token",
        heartbeat: bool = True,
    ) -> None:
        self.url = f"{ws_url}/v1/internal/workers"
        self.api_key = api_key
        self.agent_id = agent_id
        self.worker_id = f"{agent_id}#{secrets.token_hex(4)}"
        self.capacity = capacity
        #: Given a job.assign, the ack fields to send ({"accepted": ...}), or None to stay silent.
        self.answer = answer or (lambda assign: {"accepted": True})
        self.scheme = scheme
        self.heartbeat = heartbeat
        self.assigns: list[dict] = []
        self.cancels: list[dict] = []
        self.other: list[dict] = []
        self.registered: dict | None = None
        self.got_assign = asyncio.Event()
        self._ws = None
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> dict:
        self._ws = await connect(self.url, additional_headers={"Authorization": f"{self.scheme} {self.api_key}"})
        await self.send(
            {
                "type": "register",
                "worker_id": self.worker_id,
                "pool": self.agent_id,
                "capabilities": {"agent_id": self.agent_id, "max_concurrent": self.capacity,
                                 "transport": "dial_out", "kind": "brain", "voice_profiles": []},
            }
        )  # fmt: skip
        self.registered = json.loads(await asyncio.wait_for(self._ws.recv(), 5))
        self._tasks.append(asyncio.create_task(self._read()))
        if self.heartbeat:
            self._tasks.append(asyncio.create_task(self._beat(self.registered["heartbeat_interval_s"])))
        return self.registered

    async def send(self, frame: dict) -> None:
        await self._ws.send(json.dumps(frame))

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self._ws:
                frame = json.loads(raw)
                if frame.get("type") == "job.assign":
                    self.assigns.append(frame)
                    self.got_assign.set()
                    ack = self.answer(frame)
                    if ack is not None:
                        await self.send(
                            {"type": "job.ack", "job_id": frame["job_id"], "assign_id": frame["assign_id"], **ack}
                        )
                elif frame.get("type") == "job.cancel":
                    self.cancels.append(frame)
                else:
                    self.other.append(frame)

    async def _beat(self, interval: float) -> None:
        with contextlib.suppress(Exception):
            while True:
                await self.send({"type": "heartbeat", "active_jobs": len(self.assigns), "worker_id": self.worker_id})
                await asyncio.sleep(interval)

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code if self._ws else None

    def crash(self) -> None:
        """Die like a killed process: drop the TCP connection, no close frame."""
        for t in self._tasks:
            t.cancel()
        self._ws.transport.abort()

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self._ws.wait_closed(), timeout)
        return self._ws.close_code

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._ws is not None:
            await self._ws.close()


def bridging(bridges: list[EchoBridge], **kwargs) -> Callable[[dict], dict]:
    """A ``RawRunner`` answer: accept every job and dial its bridge with an
    ``EchoBridge(assign, **kwargs)``, appended to ``bridges``."""

    def accept(assign: dict) -> dict:
        bridge = EchoBridge(assign, **kwargs)
        bridges.append(bridge)
        bridge.dialing = asyncio.get_running_loop().create_task(bridge.start())
        return {"accepted": True}

    return accept


class EchoBridge:
    """Runner side of door 3 for tests: dials the bridge of an accepted job, does the
    handshake, and answers each ``user.text`` with ``echo: <text>`` in two deltas."""

    def __init__(self, assign: dict, *, say_first: list[str] | None = None, mute: bool = False) -> None:
        self.assign = assign
        self.say_first = say_first or []
        #: Take turns but never answer them (a runner about to die).
        self.mute = mute
        self.got_text = asyncio.Event()
        self.hello_ack: dict | None = None
        self.call_started: dict | None = None
        self.received: list[dict] = []
        self._ws = None
        self.task: asyncio.Task | None = None
        self.dialing: asyncio.Task | None = None

    async def start(self) -> None:
        self._ws = await connect(f"{self.assign['bridge_url']}?token={self.assign['call_token']}")
        await self._ws.send(
            json.dumps({"event": "hello", "protocol_version": 2, "supported_events": [], "supported_verbs": []})
        )
        self.hello_ack = json.loads(await asyncio.wait_for(self._ws.recv(), 5))
        self.call_started = json.loads(await asyncio.wait_for(self._ws.recv(), 5))
        for text in self.say_first:
            await self._ws.send(json.dumps({"event": "agent.say", "text": text}))
        self.task = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self._ws:
                frame = json.loads(raw)
                self.received.append(frame)
                if frame.get("event") == "user.text":
                    self.got_text.set()
                    if self.mute:
                        continue
                    reply = f"echo: {frame['text']}"
                    half = len(reply) // 2
                    for chunk in (reply[:half], reply[half:]):
                        await self._ws.send(json.dumps({"event": "agent.text.delta", "text": chunk}))
                    await self._ws.send(json.dumps({"event": "agent.text.end"}))

    async def send(self, frame: dict) -> None:
        await self._ws.send(json.dumps(frame))

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self._ws.wait_closed(), timeout)
        return self._ws.close_code

    def crash(self) -> None:
        if self.task:
            self.task.cancel()
        self._ws.transport.abort()

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        if self._ws is not None:
            await self._ws.close()
