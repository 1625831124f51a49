"""The barge-in policy in a Pipecat pipeline: caller speech over the bot interrupts it
once it has lasted min_speech_s of audio; a short sound (a cough, an "mm-hm") does not,
and nothing interrupts a bot that is not speaking."""

from __future__ import annotations

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.tests.utils import run_test

from speech.barge_in import BargeIn


def speech_frames(seconds: float) -> list:
    chunk = bytes(640)  # 20 ms at 16 kHz
    audio = [InputAudioRawFrame(audio=chunk, sample_rate=16000, num_channels=1) for _ in range(int(seconds / 0.02))]
    return [VADUserStartedSpeakingFrame(start_secs=0.2), *audio, VADUserStoppedSpeakingFrame()]


async def run(frames):
    fired: list[bool] = []

    async def barged() -> None:
        fired.append(True)

    down, _ = await run_test(BargeIn(barged, min_speech_s=0.6), frames_to_send=frames)
    return len(fired), sum(isinstance(f, InterruptionFrame) for f in down)


async def test_long_speech_over_the_bot_interrupts_once():
    assert await run([BotStartedSpeakingFrame(), *speech_frames(1.5)]) == (1, 1)


async def test_a_short_sound_over_the_bot_does_not():
    assert await run([BotStartedSpeakingFrame(), *speech_frames(0.3)]) == (0, 0)


async def test_speech_while_the_bot_is_quiet_does_not():
    assert await run([BotStartedSpeakingFrame(), BotStoppedSpeakingFrame(), *speech_frames(1.5)]) == (0, 0)
