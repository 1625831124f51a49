"""Silero VAD with one ONNX model per process, run on the event loop.

Pipecat's ``SileroVADAnalyzer`` loads the model into a new ONNX session for every
analyzer: 0.1-0.3 s of CPU and several MB per call. The session itself keeps no state
(the model's recurrent state is passed in and out on every run, and
``SileroOnnxModel`` holds it per analyzer), so every call's analyzer here runs the
process's one session, with its own state.

Pipecat also hands every frame to a worker thread for analysis. A window takes about
0.15 ms of CPU, less than the hop to the thread and back costs, and a node's core is
shared by all its calls anyway: here the analysis runs on the event loop, at once.
(Scoring the windows of all calls that arrived in one turn of the loop in one ONNX run
was tried: a batch of 2 costs 96 us a window against 135 alone, but at 50 calls a run
gathered 1.6 windows, saving under 2 % of the core, and every window waited a turn of
the loop for its run: the worst caller frame 5-9 ms later.)

And the model is not asked about a window too quiet to count as speech (peak under
``QUIET_PEAK``, about -41 dBFS) while the caller is quiet: the VAD's own volume rule
(``min_volume``, about -50 LUFS over 400 ms) would overrule any confidence there, so the
answer is known. The model starts afresh on the next window loud enough, as after
Silero's own periodic reset in quiet. In a conversation the caller is quiet about half
the time (while the bot talks), and the model is most of the VAD's cost.

Nor is the loudness (a BS.1770 measure over the last 400 ms, nearly as much CPU as the
model) measured for a window the model is not confident about: the VAD needs both, so
the answer there is "not speech" whatever the loudness. Pipecat smooths the loudness
from window to window (a fifth of the way each time), so when the model turns confident
the windows left out are measured then, from the audio kept, up to ``CATCH_UP_WINDOWS``
back (what came before weighs under 7 %): the VAD decides as Pipecat's does
(tests/test_speech_stt.py compares the two).
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np
from pipecat.audio.utils import calculate_audio_volume, exp_smoothing
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.audio.volume import VOLUME_WINDOW_SECS

#: Peak sample level under which a window cannot be speech the VAD would count.
QUIET_PEAK = 300
#: How many windows' loudness is caught up on when the model turns confident: 0.8 ** 12 < 7 %.
CATCH_UP_WINDOWS = 12

_load_lock = threading.Lock()


@functools.cache
def _shared_model() -> SileroOnnxModel:
    from importlib import resources

    path = str(resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx"))
    return SileroOnnxModel(path, force_onnx_cpu=True)


def shared_session():
    with _load_lock:  # many first calls at once load it once
        return _shared_model().session


def call_model() -> SileroOnnxModel:
    """A call's Silero model: its own recurrent state, on the process's one session."""
    model = SileroOnnxModel.__new__(SileroOnnxModel)  # not its __init__: that loads the model
    model.session = shared_session()
    model.sample_rates = [8000, 16000]
    model.reset_states()
    return model


class SharedSileroVAD(SileroVADAnalyzer):
    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None) -> None:
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)  # not Silero's: it loads a model
        self._model = call_model()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
        self._skipping = False
        self._confident = False
        #: The last 400 ms of audio and the windows before them that may need measuring.
        self._recent = bytearray()
        self._heard = 0  # bytes of audio so far: Pipecat's loudness reads 0 until 400 ms are in
        self._unmeasured = 0  # windows since the smoothed loudness was last brought up to date
        #: Windows the model was asked about (the rest were too quiet to ask).
        self.windows_scored = 0

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Analysed here, on the loop: not in Pipecat's executor thread."""
        return self._run_analyzer(buffer)

    def voice_confidence(self, buffer) -> float:
        if self._vad_state == VADState.QUIET and not voiced(buffer):
            if not self._skipping:  # the model will not see this stretch: start it afresh after
                self._model.reset_states()
                self._skipping = True
            self._confident = False
            return 0.0
        self._skipping = False
        self.windows_scored += 1
        confidence = super().voice_confidence(buffer)  # an array of one
        self._confident = bool(confidence >= self._params.confidence)
        return confidence

    def _get_smoothed_volume(self, audio) -> float:
        window, span = len(audio), 2 * math.ceil(VOLUME_WINDOW_SECS * self.sample_rate)
        self._recent += audio
        self._heard += window
        del self._recent[: max(0, len(self._recent) - span - CATCH_UP_WINDOWS * window)]
        if not self._confident:  # not speech whatever the loudness: measured later if it matters
            self._unmeasured += 1
            return self._prev_volume
        behind, smoothed = self._unmeasured, self._prev_volume
        if behind > CATCH_UP_WINDOWS:  # the smoothing had settled on the level of back then
            smoothed = self._loudness(CATCH_UP_WINDOWS, window, span)
            behind = CATCH_UP_WINDOWS - 1
        for back in range(behind, -1, -1):
            smoothed = exp_smoothing(self._loudness(back, window, span), smoothed, self._smoothing_factor)
        self._unmeasured = 0
        return smoothed

    def _loudness(self, back: int, window: int, span: int) -> float:
        """The loudness of the 400 ms that ended ``back`` windows ago, as Pipecat measures it."""
        if self._heard - back * window < span:
            return 0.0
        end = len(self._recent) - back * window
        return calculate_audio_volume(self._recent[end - span : end], self.sample_rate)


def voiced(pcm) -> bool:
    """Whether 16-bit PCM has a sample louder than the quiet level, ``QUIET_PEAK``."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    return bool(len(samples)) and (int(samples.max()) > QUIET_PEAK or int(samples.min()) < -QUIET_PEAK)
