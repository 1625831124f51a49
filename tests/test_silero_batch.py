"""Silero windows of many calls scored in one ONNX run (speech.silero_batch): each call's
confidences and model state are what scoring it alone gives, and the windows asked for
in one turn of the event loop share one run."""

from __future__ import annotations

import asyncio

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipecat.audio.vad.silero import SileroOnnxModel

from speech.silero_batch import SileroBatch
from speech.vad import call_model, shared_session
from tests.speech_audio import speech

WINDOW = 512  # samples at 16 kHz


def windows_of(pcm: bytes) -> list[np.ndarray]:
    samples = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0
    return [samples[i : i + WINDOW] for i in range(0, len(samples) - WINDOW + 1, WINDOW)]


SPOKEN = windows_of(speech("please book a table for two at seven"))

# A call's audio: stretches of the spoken sentence and of noise, with now and then the
# model started afresh (as speech.vad does after a quiet stretch it did not score).
stretch = st.one_of(
    st.tuples(st.just("speech"), st.integers(0, len(SPOKEN) - 1), st.integers(1, 12)),
    st.tuples(st.just("noise"), st.integers(0, 2**16), st.integers(1, 6)),
    st.tuples(st.just("reset"), st.just(0), st.just(0)),
)


def audio(script: list[tuple[str, int, int]]) -> list[np.ndarray | None]:
    """Windows to score, None where the model is reset."""
    out: list[np.ndarray | None] = []
    for kind, start, count in script:
        if kind == "speech":
            out += SPOKEN[start : start + count]
        elif kind == "noise":
            rng = np.random.default_rng(start)
            out += [rng.normal(0, 0.05, WINDOW).astype(np.float32) for _ in range(count)]
        else:
            out.append(None)
    return out


def scored_alone(windows: list[np.ndarray | None]) -> tuple[list[float], np.ndarray]:
    model = call_model()
    confidences = []
    for window in windows:
        if window is None:
            model.reset_states()
        else:
            confidences.append(model(window, 16000)[0].item())  # as Silero's analyzer reads it
    return confidences, model._state


async def scored_together(calls: list[list[np.ndarray | None]]) -> tuple[list[list[float]], list[np.ndarray]]:
    """Each call a task feeding its windows one after another, as a door's reader does."""
    batch = SileroBatch(shared_session(), asyncio.get_running_loop())
    models = [call_model() for _ in calls]

    async def call(model: SileroOnnxModel, windows: list[np.ndarray | None]) -> list[float]:
        confidences = []
        for window in windows:
            if window is None:
                model.reset_states()
            else:
                confidences.append((await batch.score(model, window, 16000)).item())
        return confidences

    async with asyncio.timeout(30):
        confidences = await asyncio.gather(*(call(m, w) for m, w in zip(models, calls, strict=True)))
    return confidences, [m._state for m in models]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(stretch, min_size=1, max_size=5), min_size=1, max_size=5))
def test_a_call_scored_in_a_batch_gets_what_scoring_it_alone_gives(scripts):
    calls = [audio(script) for script in scripts]
    together, states = asyncio.run(scored_together(calls))
    for windows, confidences, state in zip(calls, together, states, strict=True):
        alone, alone_state = scored_alone(windows)
        assert np.allclose(confidences, alone, atol=1e-5), (confidences, alone)
        assert np.allclose(state, alone_state, atol=1e-5)


async def test_windows_asked_for_in_one_loop_turn_share_one_run():
    batch = SileroBatch(shared_session(), asyncio.get_running_loop())
    a, b, c = call_model(), call_model(), call_model()
    # Given three calls' windows asked for in one turn, and a second window of call a
    futures = [batch.score(m, SPOKEN[i], 16000) for i, m in enumerate([a, b, c])]
    second_of_a = batch.score(a, SPOKEN[3], 16000)
    # When they are scored
    async with asyncio.timeout(5):
        results = await asyncio.gather(*futures, second_of_a)
    # Then the three calls share a run, and a's second window follows its first in a run of its own
    assert (batch.runs, batch.windows) == (2, 4)
    alone, _ = scored_alone([SPOKEN[0], SPOKEN[3]])
    assert np.allclose([results[0].item(), results[3].item()], alone, atol=1e-5)


async def test_a_quiet_node_scores_each_window_at_once():
    batch = SileroBatch(shared_session(), asyncio.get_running_loop())
    model = call_model()
    for window in SPOKEN[:5]:
        async with asyncio.timeout(5):
            await batch.score(model, window, 16000)
    assert (batch.runs, batch.windows) == (5, 5)
