"""Fakes of the cloud speech providers, which cannot be reached from here. Each is a real
WebSocket server speaking the provider's real protocol, as Pipecat's unmodified service
for it expects (URL, headers, JSON messages, base64 audio):

- ``FakeDeepgram``: ``/v1/listen`` live transcription; binary PCM in, ``Results`` out.
  It really transcribes, with PocketSphinx, on each ``Finalize``.
- ``FakeCartesia``: ``/tts/websocket`` contexts; ``chunk`` / ``done`` out.
- ``FakeElevenLabs``: ``/v1/text-to-speech/{voice}/multi-stream-input``; ``audio`` /
  ``isFinal`` out.

The two voices speak a pure tone (``TONE_HZ``), so a test can tell their audio from a
local voice's. ``crash()`` kills a fake the way a provider outage looks to a client:
open sockets drop without a close frame and new connections are refused.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import numpy as np
from websockets.asyncio.server import ServerConnection, serve

TONE_HZ = 440


def tone(rate: int, seconds: float) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16).tobytes()


def tone_share(pcm: bytes, rate: int) -> float:
    """How much of the audio's energy is within 20 Hz of the fakes' tone (1.0 = all)."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    power = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(power[np.abs(freqs - TONE_HZ) < 20].sum() / max(power.sum(), 1e-9))


class FakeProvider:
    path_prefix = "/"

    def __init__(self) -> None:
        self._server = None
        #: Where it listens (0: any free port).
        self.port = 0
        self._connections: set[ServerConnection] = set()
        #: Request paths and the API-key header of every connection, in order.
        self.connections: list[tuple[str, str]] = []
        self.crashed = False

    @property
    def url(self) -> str:
        host, port = list(self._server.sockets)[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    async def __aenter__(self):
        # No per-message deflate: compressing PCM costs CPU for nothing; whether to is
        # the provider's choice, and a fake should not make it for them.
        self._server = await serve(self._accept, "127.0.0.1", self.port, compression=None)
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def crash(self) -> None:
        self.crashed = True
        for ws in list(self._connections):
            ws.transport.abort()  # no close frame: the process died

    async def _accept(self, ws: ServerConnection) -> None:
        if self.crashed:
            ws.transport.abort()
            return
        self.connections.append((ws.request.path, self.key(ws.request.headers)))
        self._connections.add(ws)
        try:
            await self.serve(ws)
        finally:
            self._connections.discard(ws)

    def key(self, headers) -> str:
        raise NotImplementedError

    async def serve(self, ws: ServerConnection) -> None:
        raise NotImplementedError


class FakeDeepgram(FakeProvider):
    def __init__(self, scripted: str | None = None) -> None:
        super().__init__()
        #: Every transcript sent back as final.
        self.transcripts: list[str] = []
        #: Answer every utterance with this instead of transcribing it (a load test's
        #: cloud STT, which costs the node nothing).
        self.scripted = scripted

    def key(self, headers) -> str:
        return headers.get("Authorization", "")

    async def serve(self, ws: ServerConnection) -> None:
        from speech.pocketsphinx_stt import transcribe

        heard = bytearray()
        async for message in ws:
            if isinstance(message, bytes):
                heard.extend(message)
                continue
            kind = json.loads(message).get("type")
            if kind == "Finalize":
                audio, heard = bytes(heard) + bytes(8000), bytearray()
                text = self.scripted or (await asyncio.to_thread(transcribe, audio)).strip()
                if text:
                    self.transcripts.append(text)
                    await ws.send(_results(text, duration=len(audio) / 32000))
            elif kind == "CloseStream":
                await ws.close()
                return


def _results(transcript: str, duration: float) -> str:
    return json.dumps({
        "type": "Results", "channel_index": [0, 1], "duration": duration, "start": 0.0,
        "is_final": True, "speech_final": True, "from_finalize": True,
        "channel": {"alternatives": [{"transcript": transcript, "confidence": 0.9, "words": []}]},
        "metadata": {"request_id": str(uuid.uuid4()), "model_uuid": str(uuid.uuid4()),
                     "model_info": {"name": "fake-nova", "version": "0", "arch": "fake"}},
    })  # fmt: skip


class FakeCartesia(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.spoken: list[str] = []

    def key(self, headers) -> str:
        return headers.get("X-API-Key", "")

    async def serve(self, ws: ServerConnection) -> None:
        async for message in ws:
            msg = json.loads(message)
            context = msg.get("context_id")
            if msg.get("cancel"):
                continue
            text = msg.get("transcript", "")
            if text.strip():
                self.spoken.append(text.strip())
                audio = tone(msg["output_format"]["sample_rate"], 0.06 * len(text))
                for i in range(0, len(audio), 4800):
                    chunk = base64.b64encode(audio[i : i + 4800]).decode()
                    await ws.send(json.dumps({"type": "chunk", "context_id": context, "data": chunk, "done": False}))
            if msg.get("continue") is False:
                await ws.send(json.dumps({"type": "done", "context_id": context, "done": True}))


class FakeElevenLabs(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.spoken: list[str] = []

    def key(self, headers) -> str:
        return headers.get("xi-api-key", "")

    async def serve(self, ws: ServerConnection) -> None:
        rate = int(ws.request.path.split("output_format=pcm_")[1].split("&")[0])
        async for message in ws:
            msg = json.loads(message)
            context = msg.get("context_id")
            if msg.get("close_socket"):
                await ws.close()
                return
            if msg.get("close_context"):
                await ws.send(json.dumps({"isFinal": True, "contextId": context}))
                continue
            text = msg.get("text", "")
            if text.strip():
                self.spoken.append(text.strip())
                audio = base64.b64encode(tone(rate, 0.06 * len(text))).decode()
                chars = list(text)
                alignment = {"chars": chars, "charStartTimesMs": [20 * i for i in range(len(chars))],
                             "charDurationsMs": [20] * len(chars)}  # fmt: skip
                await ws.send(json.dumps({"audio": audio, "contextId": context, "alignment": alignment}))
