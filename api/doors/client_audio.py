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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bus_contracts.voice_profiles import VoiceProfile

if TYPE_CHECKING:  # the speech layer loads only for audio sessions
    from speech.recording import StereoRecording

SendBytes = Callable[[bytes], Awaitable[None]]
SendJson = Callable[[dict], Awaitable[None]]

#: The offline STT model hears 16 kHz; what the bot says can come at any of these.
INPUT_RATES = (16000,)
OUTPUT_RATES = (8000, 16000, 22050, 24000, 48000)


#: The frames that carry the agent's words, and how many are kept for a session whose
#: audio has not started yet.
SPOKEN = ("agent.delta", "agent.reply", "agent.say", "agent.filler")
MAX_UNSPOKEN = 200


class AudioRefused(ValueError):
    pass


class ClientAudio:
    def __init__(
        self,
        send_bytes: SendBytes,
        send_json: SendJson,
        on_turn: Callable[[str], Awaitable[None]],
        on_barge_in: Callable[[str], Awaitable[None]],
        on_skip: Callable[[str, str, str], Awaitable[None]],
        profile: VoiceProfile,
        *,
        record: bool = False,
    ) -> None:
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

    async def start(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Build and start the pipeline; the ``audio.started`` frame to answer with."""
        if self.speech is not None:
            raise AudioRefused("audio has already started on this session")
        in_rate = frame.get("input_sample_rate", 16000)
        out_rate = frame.get("output_sample_rate", 16000)
        if in_rate not in INPUT_RATES:
            raise AudioRefused(f"input_sample_rate must be one of {list(INPUT_RATES)}")
        if out_rate not in OUTPUT_RATES:
            raise AudioRefused(f"output_sample_rate must be one of {list(OUTPUT_RATES)}")
        from speech import providers  # Pipecat loads only for audio sessions
        from speech.recording import StereoRecording
        from speech.session import SpeechSession

        stt_ref, stt_skipped = providers.choose(self._profile.stt_failover)
        tts_ref, tts_skipped = providers.choose(self._profile.tts_failover)
        for kind, skipped in (("stt", stt_skipped), ("tts", tts_skipped)):
            for skip in skipped:
                await self._on_skip(kind, skip.provider, skip.reason)
        if stt_ref is None or tts_ref is None:
            missing = "speech-to-text" if stt_ref is None else "text-to-speech"
            raise AudioRefused(f"no {missing} provider of voice profile {self._profile.profile_id} can start here")

        self.recording = StereoRecording() if self._record else None
        self.speech = SpeechSession(
            in_rate=in_rate,
            out_rate=out_rate,
            send_bytes=self._send_bytes,
            send_json=self._send_json,
            on_turn=self._on_turn,
            on_barge_in=self._barged_in,
            on_played=self._heard.append,
            stt=providers.STT_BUILDERS[stt_ref.provider](stt_ref),
            tts=providers.TTS_BUILDERS[tts_ref.provider](tts_ref),
            recording=self.recording,
        )
        await self.speech.start()
        if self.recording is not None:  # the file starts as the client is told audio has
            self.recording.start()
            self._apply_recording_pause()
        unspoken, self._unspoken = self._unspoken, []
        for said in unspoken:
            await self.relay(said)
        return {"type": "audio.started", "input_sample_rate": in_rate, "output_sample_rate": out_rate,
                "encoding": "pcm_s16le", "channels": 1}  # fmt: skip

    async def feed(self, pcm: bytes) -> None:
        if self.speech is None:
            raise AudioRefused('send {"type": "audio.start"} before audio')
        if len(pcm) % 2:
            raise AudioRefused("audio frames carry whole 16-bit samples")
        await self.speech.feed(pcm)

    async def relay(self, frame: dict[str, Any]) -> None:
        """What the call session told the client, spoken where it is the agent talking;
        the recording's pause and end."""
        if frame.get("type") in ("recording.paused", "recording.resumed"):
            self._recording_paused = frame["type"] == "recording.paused"
            self._apply_recording_pause()
            return
        if frame.get("type") == "session.ended" and self.recording is not None:
            self.recording.end()  # with the call, not once its sockets and pipeline have wound down
        if self.speech is None:
            if frame.get("type") in SPOKEN and len(self._unspoken) < MAX_UNSPOKEN:
                self._unspoken.append(frame)
            return
        match frame.get("type"):
            case "agent.delta":
                if not self._reply_open:  # a new reply: nothing of it heard yet
                    self._reply_open, self._muted = True, False
                    self._heard.clear()
                if not self._muted:
                    await self.speech.agent_text(frame["text"])
            case "agent.reply":
                self._reply_open = False
                if not self._muted:
                    await self.speech.agent_done()
            case "agent.say" | "agent.filler":
                await self.speech.say(frame["text"])

    async def _barged_in(self) -> None:
        self._muted = self._reply_open
        await self._on_barge_in(" ".join(self._heard))

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
