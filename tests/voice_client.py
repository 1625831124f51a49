"""A voice client of door 1 for tests: a microphone streaming PCM at real-time pace, as a
browser does, and a listener stamping everything the node sends with the microphone's
position (the test's clock, comparable to positions in a recording)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque

from websockets.asyncio.client import connect

from tests.speech_audio import chunks, silence
from unpod import AsyncClient

RATE = 16000


class Microphone:
    """20 ms chunks at real-time pace, on a deadline (a busy moment is caught up, as a
    real client's buffered audio is); silence unless something is being said."""

    def __init__(self, ws) -> None:
        self.ws = ws
        #: Samples sent so far: the test's clock, comparable to positions in the file.
        self.sent = 0
        self._queued: deque[bytes] = deque()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._stream())

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        quiet = silence(0.02)
        while True:
            chunk = self._queued.popleft() if self._queued else quiet
            await self.ws.send(chunk)
            async with self._progress:
                self.sent += len(chunk) // 2
                self._progress.notify_all()
            await asyncio.sleep(max(0.0, began + self.sent / RATE - loop.time()))  # pacing, not waiting

    def say(self, pcm: bytes) -> tuple[int, int]:
        """Queue speech; where it will be in the stream (samples)."""
        start = self.sent + sum(len(c) for c in self._queued) // 2
        self._queued.extend(chunks(pcm))
        return start, start + len(pcm) // 2

    async def until(self, position: int) -> None:
        async with self._progress:
            await self._progress.wait_for(lambda: self.sent >= position)

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Listener:
    """Everything the node sends the client, stamped with the microphone's position."""

    def __init__(self, ws, mic: Microphone) -> None:
        self.ws = ws
        self.mic = mic
        self.frames: list[tuple[int, dict]] = []
        #: When (event loop time) the first frame of each type arrived.
        self.first_seen: dict[str, float] = {}
        #: (position, samples) of each chunk of agent audio.
        self.audio: list[tuple[int, int]] = []
        self._seen: dict[str, int] = {}
        self._arrived = asyncio.Condition()
        self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        async for message in self.ws:
            async with self._arrived:
                if isinstance(message, bytes):
                    self.audio.append((self.mic.sent, len(message) // 2))
                else:
                    frame = json.loads(message)
                    self.frames.append((self.mic.sent, frame))
                    self.first_seen.setdefault(frame["type"], asyncio.get_running_loop().time())
                self._arrived.notify_all()

    async def next(self, kind: str) -> tuple[int, dict]:
        """The next frame of ``kind`` (after the last one returned), with where it arrived."""

        def found():
            return next(
                ((i, x) for i, x in enumerate(self.frames) if x[1]["type"] == kind and i >= self._seen.get(kind, 0)),
                None,
            )

        async with self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
            index, hit = found()
        self._seen[kind] = index + 1
        return hit

    async def played_out(self, since: int, quiet_s: float = 0.6) -> int:
        """Wait for the agent's audio to come after ``since``, then to stop (none for
        ``quiet_s`` of the caller's stream); where its last chunk arrived."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: bool(self.audio) and self.audio[-1][0] >= since)
        while True:
            last = self.audio[-1][0]
            await self.mic.until(max(last, self.mic.sent) + int(quiet_s * RATE))
            if self.audio[-1][0] == last:
                return last

    def audio_between(self, start: int, end: int) -> list[tuple[int, int]]:
        return [(at, samples) for at, samples in self.audio if start <= at <= end]

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def voice_call(stack, pipe_id: str, output_rate: int = 16000):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        token = await c.sessions.create_token(pipe_id)
    ws = await connect(f"{stack.ws_url}/v1/pipes/{pipe_id}/connect?token={token.token}")
    mic = Microphone(ws)
    listener = Listener(ws, mic)
    _, started = await listener.next("session.started")
    await ws.send(json.dumps({"type": "audio.start", "input_sample_rate": RATE, "output_sample_rate": output_rate}))
    async with asyncio.timeout(30):
        await listener.next("audio.started")
    mic.start()
    return started["call_id"], ws, mic, listener


async def hang_up(ws, mic: Microphone, listener: Listener) -> int:
    """Hang up; how much the caller streamed (samples)."""
    await mic.stop()
    await ws.send(json.dumps({"type": "hangup"}))
    await listener.next("session.ended")
    await listener.close()
    await ws.close()
    return mic.sent
