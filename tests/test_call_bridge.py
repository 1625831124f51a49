"""TranscriptToCall: one caller turn per utterance the VAD delimits, whatever pieces a
streaming STT finalises on the way."""

from __future__ import annotations

from pipecat.frames.frames import TranscriptionFrame, VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.utils.time import time_now_iso8601

from speech.call_bridge import LATE_PIECES_S, TranscriptToCall


def piece(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", time_now_iso8601())


async def turns_for(frames) -> list[tuple[str, float]]:
    turns: list[tuple[str, float]] = []

    async def on_turn(text: str, endpointing_ms: float, stt_ms: float) -> None:
        turns.append((text, endpointing_ms))

    await run_test(TranscriptToCall(on_turn), frames_to_send=frames, start_timeout=10)
    return turns


async def test_pieces_finalised_mid_utterance_go_out_with_the_last_one_as_one_turn():
    turns = await turns_for([
        VADUserStartedSpeakingFrame(), piece("book a table"), VADUserStoppedSpeakingFrame(stop_secs=0.2),
        piece("for two at seven"), VADUserStartedSpeakingFrame(), VADUserStoppedSpeakingFrame(stop_secs=0.2),
        piece("thanks"),
    ])  # fmt: skip
    assert turns == [("book a table for two at seven", 200.0), ("thanks", 200.0)]


async def test_pieces_with_no_last_one_after_the_stop_are_the_turn():
    turns = await turns_for([
        VADUserStartedSpeakingFrame(), piece("hello there"),
        VADUserStoppedSpeakingFrame(stop_secs=0.2), SleepFrame(LATE_PIECES_S + 0.3),
    ])  # fmt: skip
    assert turns == [("hello there", 200.0)]
