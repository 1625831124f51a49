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


async def test_the_call_hears_of_a_barge_in_before_the_turn_after_it_and_the_audio_path_does_not_wait():
    """ClientAudio tells the call of a barge-in in a task (recording it takes a JetStream
    ack, which would hold the caller's audio); the caller's next turn waits for it."""
    import asyncio

    from api.doors.client_audio import ClientAudio
    from bus_contracts.voice_profiles import get_profile

    told: list[str] = []
    ack = asyncio.Event()

    async def on_barge_in(heard: str) -> None:
        await ack.wait()  # the call's log is slow to acknowledge
        told.append(f"interrupted after {heard!r}")

    async def on_turn(text: str, *timings: float) -> None:
        told.append(f"turn {text!r}")

    async def nothing(*_) -> None:
        pass

    audio = ClientAudio(nothing, nothing, on_turn, on_barge_in, nothing, get_profile("vp_local_en"))
    audio._heard.append("Hello there.")
    # Given the pipeline has barged in: it is back at once, the call not told yet
    async with asyncio.timeout(1):
        await audio._barged_in()
    assert told == []
    # When the caller's turn comes before the call's log has acknowledged the interruption
    turn = asyncio.create_task(audio._turn("stop please", 0.1, 0.2))
    done, _ = await asyncio.wait([turn], timeout=0.1)  # a turn not held back is done at once
    assert not done and told == []
    ack.set()
    async with asyncio.timeout(5):
        await turn
    # Then the call heard of them in order
    assert told == ["interrupted after 'Hello there.'", "turn 'stop please'"]
