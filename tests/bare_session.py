"""A speech session with no providers and no client: for tests of the session's own
mechanics (its collector policy, its real-time counts), not of what it hears or says."""

from __future__ import annotations

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from speech.session import SpeechSession


class Passes(FrameProcessor):
    """Stands for a provider: passes on all but the caller's audio."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputAudioRawFrame):
            await self.push_frame(frame, direction)


async def nothing(*_: object) -> None:
    return None


def bare_session() -> SpeechSession:
    return SpeechSession(
        in_rate=16000, out_rate=16000, send_bytes=nothing, send_json=nothing, on_turn=nothing,
        on_barge_in=nothing, on_played=lambda _: None, on_tts_audio=lambda: None, stt=Passes(), tts=Passes(),
    )  # fmt: skip
