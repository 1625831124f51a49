"""Child process for bench/audio.py, on the other core: the callers (door 1 in voice
mode, real-time PCM), an AgentRunner (our SDK) with an echo brain, and, for the
capacity run, the fake cloud STT/TTS (tests/fake_cloud.py) the node's sessions use, so
the node spends its core on what it does in production: transport, VAD, pipeline.

Input: one JSON object as argv[1]. Output: one JSON line per phase on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import connect  # noqa: E402

from tests.fake_cloud import FakeCartesia, FakeDeepgram  # noqa: E402
from tests.speech_audio import speech  # noqa: E402
from unpod import AgentRunner, AsyncClient, CallContext  # noqa: E402

RATE = 16000
FRAME = 640  # bytes: 20 ms of 16-bit mono at 16 kHz
FRAME_S = 0.020
SENTENCES = [
    "what are your opening hours today",
    "please book a table for two at seven",
    "what is the weather like in boston",
    "can you tell me the time please",
]


def voiced_end(pcm: bytes) -> float:
    """Seconds into ``pcm`` just after the last voiced sample: the end of the caller's
    speech. Voiced is louder than the node's quiet level (speech.vad.QUIET_PEAK), the line
    the node measures endpointing from, so both time the same moment."""
    import numpy as np

    from speech.vad import QUIET_PEAK

    samples = np.abs(np.frombuffer(pcm, dtype=np.int16).astype(np.int32))
    loud = np.nonzero(samples > QUIET_PEAK)[0]
    return (int(loud[-1]) + 1) / RATE if len(loud) else 0.0


class Echo:
    async def stream(self, text: str):
        yield f"You said {text}."


async def echo_agent(ctx: CallContext) -> None:
    ctx.session.dialog_machine = Echo()
    await ctx.session.run()


class Caller:
    """One voice session: speaks an utterance, stays on the line (sending silence, as
    a microphone does) until the bot has answered, then speaks again."""

    def __init__(self, url: str, utterances: list[bytes], lead_s: float, turns: int | None, until: float) -> None:
        self.url = url
        self.utterances = utterances
        self.lead_s = lead_s
        self.turns = turns
        self.until = until
        self.results: list[dict] = []
        self._speech_end: float | None = None
        self._first_audio: float | None = None
        self._last_audio = 0.0
        self._replied: dict | None = None
        self.started = asyncio.Event()
        #: Whether the caller is saying an utterance now (not on the line in silence).
        self.speaking = False

    async def run(self) -> None:
        async with connect(self.url, max_size=2**22, compression=None) as ws:
            await ws.send(json.dumps({"type": "audio.start", "input_sample_rate": RATE, "output_sample_rate": RATE}))
            receiver = asyncio.create_task(self._receive(ws))
            await self.started.wait()
            try:
                await self._speak(ws)
            finally:
                receiver.cancel()
                await ws.send(json.dumps({"type": "hangup"}))

    async def _speak(self, ws) -> None:
        clock = time.monotonic()

        async def send(pcm: bytes) -> None:
            nonlocal clock
            for i in range(0, len(pcm), FRAME):
                clock += FRAME_S
                await asyncio.sleep(max(0.0, clock - time.monotonic()))
                await ws.send(pcm[i : i + FRAME])

        silence = bytes(FRAME)
        await send(bytes(FRAME * int(self.lead_s / FRAME_S)))
        turn = 0
        while (self.turns is None or turn < self.turns) and time.monotonic() < self.until:
            utterance = self.utterances[turn % len(self.utterances)]
            self._first_audio, self._replied, self._speech_end = None, None, None
            began = clock  # the utterance's first sample is spoken now, its frame sent 20 ms later
            self.speaking = True
            await send(utterance)
            self.speaking = False
            self._speech_end = began + voiced_end(utterance)
            # On the line until the reply has been heard out (0.5 s without bot audio
            # after it began), or 8 s: a turn the node lost counts as unanswered.
            deadline = clock + 8.0
            while clock < deadline and time.monotonic() < self.until + 8:
                await send(silence)
                heard_out = self._first_audio is not None and clock - self._last_audio > 0.5
                if heard_out and self._replied is not None:
                    break
            self.results.append({
                "answered": self._first_audio is not None,
                "total_ms": 1000 * (self._first_audio - self._speech_end) if self._first_audio else None,
                "timings": (self._replied or {}).get("timings", {}),
            })  # fmt: skip
            turn += 1
            await send(bytes(FRAME * int(random.uniform(0.2, 1.0) / FRAME_S)))  # a pause before speaking again

    async def _receive(self, ws) -> None:
        async for message in ws:
            now = time.monotonic()
            if isinstance(message, bytes):
                if self._speech_end is not None and self._first_audio is None and now > self._speech_end:
                    self._first_audio = now
                self._last_audio = now
                continue
            frame = json.loads(message)
            if frame["type"] == "audio.started":
                self.started.set()
            elif frame["type"] == "agent.reply":
                self._replied = frame
            elif frame["type"] == "session.ended":
                return


async def main() -> None:
    spec = json.loads(sys.argv[1])
    # The node is pinned before it starts this process, which inherits its one core:
    # ask the machine, not this process's affinity, whether another core exists.
    if (os.cpu_count() or 1) > 1 and spec.get("core") is not None:
        os.sched_setaffinity(0, {spec["core"]})
    fakes = []
    if spec.get("fake_ports"):
        deepgram = FakeDeepgram(scripted=SENTENCES[0])
        cartesia = FakeCartesia()
        deepgram.port, cartesia.port = spec["fake_ports"]
        fakes = [deepgram, cartesia]
        for fake in fakes:
            await fake.__aenter__()
    runner = AgentRunner(echo_agent, agent_id=spec["agent_id"], max_sessions=spec["max_sessions"],
                         api_key=spec["api_key"], base_url=spec["api"])  # fmt: skip
    runner_task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.registered.wait(), 30)
    utterances = [speech(s) for s in (SENTENCES[:1] if fakes else SENTENCES)]
    ws_base = spec["api"].replace("http://", "ws://", 1)
    for step in spec["steps"]:
        n = step["sessions"]
        async with AsyncClient(api_key=spec["api_key"], base_url=spec["api"]) as client:
            tokens = [(await client.sessions.create_token(spec["pipe_id"])).token for _ in range(n)]
        until = time.monotonic() + 3600
        callers = [
            Caller(f"{ws_base}/v1/sessions/connect?token={t}", utterances, random.uniform(0, 3.0), step.get("turns"), until)
            for t in tokens
        ]  # fmt: skip
        tasks = [asyncio.create_task(c.run()) for c in callers]
        await asyncio.wait_for(asyncio.gather(*(c.started.wait() for c in callers)), 120)
        print(json.dumps({"phase": "streaming", "sessions": n}), flush=True)
        window = time.monotonic()
        for c in callers:
            c.until = window + step.get("seconds", 3600)
        if "seconds" in step:  # every caller is still on the line: what follows is hanging up
            speaking = await speakers(callers, step["seconds"])
            print(json.dumps({"phase": "window closed", "sessions": n, "speaking": speaking}), flush=True)
        await asyncio.wait_for(asyncio.gather(*tasks), step.get("seconds", 0) + 600)
        turns = [r for c in callers for r in c.results]
        print(json.dumps({"phase": "done", "sessions": n, "seconds": time.monotonic() - window, "turns": turns}),
              flush=True)  # fmt: skip
    await runner.shutdown()
    await runner_task
    for fake in fakes:
        await fake.__aexit__(None, None, None)


async def speakers(callers: list[Caller], seconds: float) -> list[int]:
    """How many of ``callers`` are speaking, every 100 ms for ``seconds``: the node's
    VAD work follows it (the model is not run on a caller's silence)."""
    counts, until = [], time.monotonic() + seconds
    while time.monotonic() < until:
        counts.append(sum(c.speaking for c in callers))
        await asyncio.sleep(0.1)
    return counts


if __name__ == "__main__":
    asyncio.run(main())
