"""Door 1's audio side: after ``{"type": "audio.start", ...}`` the socket's binary
frames are the caller's PCM (16-bit little-endian mono) and the bot's PCM comes back
the same way, through a speech pipeline (speech.session) built for this session.

The agent's words reach the pipeline through the frames the call session sends the
client: ``agent.delta`` is spoken as its sentences complete, ``agent.reply`` flushes
the rest, ``agent.say`` speaks at once. When the pipe records, both sides go into a
stereo recording, which ``recording.paused`` and ``recording.resumed`` pause and
resume (``ClientAudio.recording``, finished once the session has stopped).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bus_contracts.events import DEFAULT_BARGE_IN_S
from bus_contracts.voice_profiles import VoiceProfile

if TYPE_CHECKING:  # the speech layer loads only for audio sessions
    from pipecat.processors.frame_processor import FrameProcessor

    from speech.recording import StereoRecording

log = logging.getLogger("unpod.speech")

SendBytes = Callable[[bytes], Awaitable[None]]
SendJson = Callable[[dict], Awaitable[None]]

#: The offline STT model hears 16 kHz; what the bot says can come at any of these.
INPUT_RATES = (16000,)
OUTPUT_RATES = (8000, 16000, 22050, 24000, 48000)


#: The frames that carry the agent's words, and how many are kept for a session whose
#: audio has not started yet.
SPOKEN = ("agent.delta", "agent.reply", "agent.say", "agent.filler")
MAX_UNSPOKEN = 200
#: How long the end of a reply waits for its first audio, to put the TTS's time to first
#: byte on the call's record. Usually no wait: a streamed reply's first sentence was
#: spoken while the rest arrived; a reply shorter than a sentence starts TTS only now.
TTFB_WAIT_S = 2.0
#: How long a stopping session waits for the call to have been told of a barge-in.
TELL_WAIT_S = 5.0
#: How long the agent's last words may play on after it hung up, before the socket closes.
PLAY_OUT_S = 10.0


class AudioRefused(ValueError):
    pass


class ClientAudio:
    def __init__(
        self,
        send_bytes: SendBytes,
        send_json: SendJson,
        on_turn: Callable[[str, float, float], Awaitable[None]],
        on_barge_in: Callable[[str], Awaitable[None]],
        on_skip: Callable[[str, str, str], Awaitable[None]],
        profile: VoiceProfile,
        *,
        record: bool = False,
        barge_in_min_speech_s: float = DEFAULT_BARGE_IN_S,
    ) -> None:
        self._barge_in_min_speech_s = barge_in_min_speech_s
        self._send_bytes = send_bytes
        self._send_json = send_json
        self._on_turn = on_turn
        self._on_barge_in = on_barge_in
        self._on_skip = on_skip
        self._profile = profile
        self._record = record
        self.speech = None
        self.recording: StereoRecording | None = None
        #: The agent paused recording (possibly before audio started).
        self._recording_paused = False
        #: The agent's reply text is still arriving.
        self._reply_open = False
        #: The caller cut the reply off: the rest of its text is not spoken.
        self._muted = False
        #: What the caller has heard of the latest reply, sentence by sentence.
        self._heard: list[str] = []
        #: What the agent said before audio started (a greeting usually beats the
        #: pipeline's start): spoken once it has. Bounded, for text-only sessions.
        self._unspoken: list[dict[str, Any]] = []
        #: When the latest reply's first words went to TTS, and when its first audio came.
        self._reply_at = 0.0
        self._first_audio_at: float | None = None
        self._first_audio = asyncio.Event()
        self._finished_by_call = False
        self._starting = False
        #: The reply under way has words to say (not only punctuation), not yet timed.
        self._speakable = False
        #: The call being told of the latest barge-in (see _barged_in).
        self._telling: asyncio.Task[None] | None = None

    async def start(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Build and start the pipeline; the ``audio.started`` frame to answer with."""
        if self.speech is not None or self._starting:
            raise AudioRefused("audio has already started on this session")
        in_rate = frame.get("input_sample_rate", 16000)
        out_rate = frame.get("output_sample_rate", 16000)
        if in_rate not in INPUT_RATES:
            raise AudioRefused(f"input_sample_rate must be one of {list(INPUT_RATES)}")
        if out_rate not in OUTPUT_RATES:
            raise AudioRefused(f"output_sample_rate must be one of {list(OUTPUT_RATES)}")
        from speech import providers  # Pipecat loads only for audio sessions
        from speech.failover import Standby, failover_chain
        from speech.recording import StereoRecording
        from speech.session import SpeechSession

        builders = {"stt": providers.STT_BUILDERS, "tts": providers.TTS_BUILDERS}
        chains = {}
        for kind, chain in (("stt", self._profile.stt_failover), ("tts", self._profile.tts_failover)):
            ready, skipped = providers.usable(chain)
            for skip in skipped:
                await self._on_skip(kind, skip.provider, f"skipped: {skip.reason}")
            if not ready:
                what = "speech-to-text" if kind == "stt" else "text-to-speech"
                raise AudioRefused(f"no {what} provider of voice profile {self._profile.profile_id} can start here")
            chains[kind] = ready
        recording = StereoRecording() if self._record else None

        providers_of = {kind: [Standby(ref.provider, functools.partial(builders[kind][ref.provider], ref, os.environ))
                               for ref in refs] for kind, refs in chains.items()}  # fmt: skip

        def build_first() -> dict[str, tuple[str, FrameProcessor]]:
            return {kind: (ready[0].name, ready[0].build()) for kind, ready in providers_of.items()}

        def chain(kind: str, first: tuple[str, FrameProcessor]) -> FrameProcessor:
            # The rest of the chain is a cold standby, built only if it has to serve.
            return failover_chain(first, providers_of[kind][1:], functools.partial(self._switched, kind))

        # Until it has started, what the agent says waits in _unspoken (speech is None).
        self._starting = True
        speech = None
        try:
            # Built in a thread: a call's services take 20-50 ms of CPU to construct (the
            # Deepgram client alone loads the TLS trust store), which on the loop would
            # hold every other call's audio that long (speech.failover builds a standby's
            # so too). The rest needs the loop, and is quick.
            first = await asyncio.to_thread(build_first)
            speech = SpeechSession(
                in_rate=in_rate,
                out_rate=out_rate,
                send_bytes=self._send_bytes,
                send_json=self._send_json,
                on_turn=self._turn,
                on_barge_in=self._barged_in,
                on_played=self._heard.append,
                on_tts_audio=self._tts_audio,
                stt=chain("stt", first["stt"]),
                tts=chain("tts", first["tts"]),
                recording=recording,
                min_speech_s=self._barge_in_min_speech_s,
            )
            await speech.start()
        except Exception as exc:  # a model or provider that would not start: the call goes on in text
            log.warning("speech pipeline failed to start: %s", exc)
            if speech is not None:
                await speech.stop()
            raise AudioRefused("the speech pipeline could not start; this session stays text-only") from exc
        finally:
            self._starting = False
        self.speech, self.recording = speech, recording
        if self.recording is not None:  # the file starts as the client is told audio has
            self.recording.start()
            self._apply_recording_pause()
        unspoken, self._unspoken = self._unspoken, []
        for said in unspoken:
            await self.relay(said)
        return {"type": "audio.started", "input_sample_rate": in_rate, "output_sample_rate": out_rate,
                "encoding": "pcm_s16le", "channels": 1}  # fmt: skip

    async def feed(self, pcm: bytes, read_at: float | None = None) -> None:
        """Caller audio; ``read_at``: when the node read it off the socket (time.monotonic())."""
        if self.speech is None:
            raise AudioRefused('send {"type": "audio.start"} before audio')
        if len(pcm) % 2:
            raise AudioRefused("audio frames carry whole 16-bit samples")
        await self.speech.feed(pcm, read_at)

    async def relay(self, frame: dict[str, Any]) -> None:
        """What the call session told the client, spoken where it is the agent talking;
        the recording's pause and end."""
        if frame.get("type") in ("recording.paused", "recording.resumed"):
            self._recording_paused = frame["type"] == "recording.paused"
            self._apply_recording_pause()
            return
        if frame.get("type") == "session.ended":
            if frame.get("reason") == "completed" and self.speech is not None:
                # The agent hung up: its last words (a goodbye, typically right before)
                # are heard before the socket closes.
                await self.speech.play_out(PLAY_OUT_S)
            if self.recording is not None:
                self.recording.end()  # with the call, not once its sockets and pipeline have wound down
        if self.speech is None:
            if frame.get("type") in SPOKEN and len(self._unspoken) < MAX_UNSPOKEN:
                self._unspoken.append(frame)
            return
        match frame.get("type"):
            case "agent.delta":
                if not self._reply_open:  # a new reply: nothing of it heard yet
                    self._begin_reply()
                if not self._muted:
                    self._speakable = self._speakable or any(c.isalnum() for c in frame["text"])
                    await self.speech.agent_text(frame["text"])
            case "agent.reply":
                if self._reply_open:
                    await self._finish_reply()
                elif not self._finished_by_call and frame.get("text"):
                    # A whole reply with no stream before it (an HTTP agent endpoint's).
                    self._begin_reply()
                    self._speakable = any(c.isalnum() for c in frame["text"])
                    await self.speech.agent_text(frame["text"])
                    await self._finish_reply()
                self._finished_by_call = False
            case "agent.say" | "agent.filler":
                await self.speech.say(frame["text"])

    def _begin_reply(self) -> None:
        self._reply_open, self._muted, self._speakable = True, False, False
        self._heard.clear()
        self._reply_at, self._first_audio_at = time.monotonic(), None
        self._first_audio.clear()

    async def _finish_reply(self) -> None:
        if self._reply_open:
            self._reply_open = False
            if not self._muted:
                await self.speech.agent_done()

    async def reply_done(self, timeout_s: float = TTFB_WAIT_S) -> float:
        """The agent's reply text is complete: speak the rest of it, and give the TTS's
        time to first byte for it in ms (0 if it made no sound: cut off, or no audio)."""
        if self.speech is None:
            return 0.0
        await self._finish_reply()
        self._finished_by_call = True  # its agent.reply frame, next, has nothing to add
        speakable, self._speakable = self._speakable, False
        if self._muted or not speakable:  # cut off, or nothing in it to say: no sound to wait for
            return 0.0
        try:
            async with asyncio.timeout(timeout_s):
                await self._first_audio.wait()
        except TimeoutError:
            return 0.0
        return round(1000 * (self._first_audio_at - self._reply_at), 3)

    def _tts_audio(self) -> None:
        if self._first_audio_at is None and self._reply_at:
            self._first_audio_at = time.monotonic()
            self._first_audio.set()

    async def _switched(self, kind: str, failed: str, serving: str | None, why: str) -> None:
        then = f"{serving} took over" if serving else "no provider is left to take over"
        what = why if why.startswith("could not start") else f"failed mid-call ({why})"  # a standby
        await self._on_skip(kind, failed, f"{what}; {then}")

    async def _barged_in(self) -> None:
        """The pipeline has stopped the bot. The call is told in a task of its own: it
        records the interruption on the call's log, a JetStream ack away (20-60 ms on a
        node with 50 calls), and the pipeline calls this from the caller's audio path,
        whose next frames would wait that long. The caller's next turn waits for it
        (:meth:`_turn`), so the call hears of the two in order."""
        self._muted = self._reply_open
        self._telling = asyncio.create_task(self._tell_barge_in(" ".join(self._heard), self._telling))

    async def _tell_barge_in(self, heard: str, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self._on_barge_in(heard)
        except Exception:
            log.exception("telling the call of a barge-in failed")

    async def _turn(self, text: str, *timings: float) -> None:
        if self._telling is not None:
            await asyncio.wait([self._telling])
        await self._on_turn(text, *timings)

    def _apply_recording_pause(self) -> None:
        if self.recording is not None:
            if self._recording_paused:
                self.recording.pause()
            else:
                self.recording.resume()

    async def stop(self) -> None:
        if self.recording is not None:
            self.recording.end()  # unless the call's end has: the client left
        if self.speech is not None:
            await self.speech.stop()
        if self._telling is not None:
            await asyncio.wait([self._telling], timeout=TELL_WAIT_S)
            self._telling.cancel()
