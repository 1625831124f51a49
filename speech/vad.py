"""Silero VAD with one ONNX model per process, run on the event loop.

Pipecat's ``SileroVADAnalyzer`` loads the model into a new ONNX session for every
analyzer: 0.1-0.3 s of CPU and several MB per call. The session itself keeps no state
(the model's recurrent state is passed in and out on every run, and
``SileroOnnxModel`` holds it per analyzer), so every call's analyzer here runs the
process's one session, with its own state.

Pipecat also hands every frame to a worker thread for analysis. A window takes about
0.4 ms of CPU, less than the hop to the thread and back costs, and a node's core is
shared by all its calls anyway: here the analysis runs inline.

And the model is not asked about a window too quiet to count as speech (peak under
``QUIET_PEAK``, about -41 dBFS) while the caller is quiet: the VAD's own volume rule
(``min_volume``, about -50 LUFS over 400 ms) would overrule any confidence there, so the
answer is known. The model starts afresh on the next window loud enough, as after
Silero's own periodic reset in quiet. In a conversation the caller is quiet about half
the time (while the bot talks), and the model is most of the VAD's cost.
"""

from __future__ import annotations

import functools
import threading

import numpy as np
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

#: Peak sample level under which a window cannot be speech the VAD would count.
QUIET_PEAK = 300

_load_lock = threading.Lock()


@functools.cache
def _shared_model() -> SileroOnnxModel:
    from importlib import resources

    path = str(resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx"))
    return SileroOnnxModel(path, force_onnx_cpu=True)


def shared_session():
    with _load_lock:  # many first calls at once load it once
        return _shared_model().session


class SharedSileroVAD(SileroVADAnalyzer):
    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None) -> None:
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)  # not Silero's: it loads a model
        model = SileroOnnxModel.__new__(SileroOnnxModel)
        model.session = shared_session()
        model.sample_rates = [8000, 16000]
        model.reset_states()
        self._model = model
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
        self._skipping = False
        #: Windows the model was asked about (the rest were too quiet to ask).
        self.windows_scored = 0

    async def analyze_audio(self, buffer: bytes) -> VADState:
        return self._run_analyzer(buffer)

    def voice_confidence(self, buffer) -> float:
        if self._vad_state == VADState.QUIET and _peak(buffer) < QUIET_PEAK:
            if not self._skipping:  # the model will not see this stretch: start it afresh after
                self._model.reset_states()
                self._skipping = True
            return 0.0
        self._skipping = False
        self.windows_scored += 1
        return super().voice_confidence(buffer)


def _peak(buffer) -> int:
    samples = np.frombuffer(buffer, dtype=np.int16)
    return max(int(samples.max()), -int(samples.min())) if len(samples) else 0
