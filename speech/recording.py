"""One call's audio as a stereo WAV file: the caller on the left channel, the agent on
the right, both on one clock that starts when the call's audio does.

The agent's side is placed by when it was played: between replies it sends nothing,
and that time is silence of the same length. The caller's side is a continuous
stream, and falling behind the clock means one of two things: the caller sent
nothing for a while (a muted or stalled client; that time is silence), or this node
was busy and the audio it could not take meanwhile follows in a burst (nothing is
missing, and padding would shift every later word). So caller audio that comes more
than ``GAP_S`` late is held back for up to ``HOLD_S``: if the stream catches up, it
is written as it is; if it stays behind, the time it is behind was silence, and goes
before it.

While recording is paused both channels are written as zeros, and at the end the
paused spans of the file are zeroed too, whatever landed in them (the tail of a
chunk played just before the pause): the file keeps its full length, so its
timings stay true, and holds nothing of what was said during a pause.

Channels are spooled to temporary files, so a long call costs disk, not memory.
"""

from __future__ import annotations

import os
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

#: The rate of the file: what the caller's side arrives at, and plenty for speech.
SAMPLE_RATE = 16000
#: Longer than the jitter of a WebSocket stream, shorter than a pause anyone hears.
GAP_S = 0.2
#: Long enough for a node that was busy to take the burst it could not take meanwhile.
HOLD_S = 1.0
#: Samples per channel interleaved at a time when the file is written.
_BLOCK = 1 << 16


class _Track:
    """One channel: 16-bit samples in a temporary file, in the order they were written."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        self.samples = 0

    def append(self, pcm: bytes) -> None:
        self.file.write(pcm)
        self.samples += len(pcm) // 2

    def pad_to(self, samples: int) -> None:
        if samples > self.samples:
            self.append(bytes(2 * (samples - self.samples)))

    def silence(self, start: int, end: int) -> None:
        end = min(end, self.samples)
        if start < end:
            self.file.seek(2 * start)
            self.file.write(bytes(2 * (end - start)))
            self.file.seek(0, os.SEEK_END)

    def read(self, samples: int) -> np.ndarray:
        return np.frombuffer(self.file.read(2 * samples), dtype="<i2")


@dataclass(frozen=True)
class WavFile:
    """A finished recording. ``file`` is positioned at its start; closing it deletes it."""

    file: BinaryIO
    duration_s: float
    sample_rate: int
    channels: int
    #: (start_s, end_s) of each pause, from the start of the file.
    paused_spans: tuple[tuple[float, float], ...]

    @property
    def paused_s(self) -> float:
        return round(sum(end - start for start, end in self.paused_spans), 3)


class StereoRecording:
    def __init__(self, *, rate: int = SAMPLE_RATE, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._origin: float | None = None
        self._gap = int(GAP_S * rate)
        self._hold = int(HOLD_S * rate)
        self._caller = _Track()
        self._agent = _Track()
        #: Caller audio held back while the stream is behind the clock, and since when.
        self._held: list[bytes] = []
        self._behind_since: int | None = None
        #: How far (in samples) the caller's stream was behind the clock at its last frame.
        self._lag = 0
        #: Where the pause under way began (in samples), or None.
        self._paused_at: int | None = None
        self._pauses: list[tuple[int, int]] = []
        #: Where the recording ended (in samples): audio after it is not kept.
        self._end: int | None = None

    def start(self) -> None:
        """The call's audio starts now: the first sample of the file."""
        self._origin = self._clock()

    def _now(self) -> int:
        return 0 if self._origin is None else round((self._clock() - self._origin) * self.rate)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        if self._paused_at is None and self._end is None:
            self._paused_at = self._now()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._pauses.append((self._paused_at, max(self._paused_at, self._now())))
            self._paused_at = None

    def caller(self, pcm: bytes) -> None:
        """Caller audio that has just arrived (it was spoken until now)."""
        if self._end is not None:
            return
        now = self._now()
        self._held.append(bytes(len(pcm)) if self.paused else pcm)
        self._lag = now - self._caller.samples - sum(len(held) for held in self._held) // 2
        if self._lag <= self._gap:
            self._write_held(0)  # in time, or caught up after a burst
        elif self._behind_since is None:
            self._behind_since = now  # a burst may yet catch up
        elif now - self._behind_since >= self._hold:
            self._write_held(self._lag)  # it did not: the caller was silent that long

    def _write_held(self, silence: int) -> None:
        self._caller.pad_to(self._caller.samples + silence)
        for pcm in self._held:
            self._caller.append(pcm)
        self._held.clear()
        self._behind_since = None

    def agent(self, pcm: bytes) -> None:
        """Agent audio just sent: the caller hears it after what was sent before it, or
        now if that has all played (a new utterance)."""
        if self._end is None:
            now = self._now()
            if now - self._agent.samples > self._gap:
                self._agent.pad_to(now)
            self._agent.append(bytes(len(pcm)) if self.paused else pcm)

    def end(self) -> None:
        """The call's audio ends now; a pause under way ends with it."""
        if self._end is None:
            self.resume()
            self._end = self._now()
            if self._held:  # still behind: it goes where it arrived
                self._write_held(self._lag)

    def finish(self) -> WavFile:
        """Write the WAV file (blocking: run it off the event loop) and free the channels."""
        self.end()
        assert self._end is not None
        # The agent's audio goes out a little ahead of playback (speech.playout): what was
        # sent for after the end was never heard, and is not kept.
        length = max(self._end, self._caller.samples)
        out = tempfile.TemporaryFile()
        try:
            for track in (self._caller, self._agent):
                track.pad_to(length)
                for start, end in self._pauses:
                    track.silence(start, end)
                track.file.seek(0)
            with wave.open(out, "wb") as wav:
                wav.setnchannels(2)
                wav.setsampwidth(2)
                wav.setframerate(self.rate)
                for at in range(0, length, _BLOCK):
                    block = min(_BLOCK, length - at)
                    left, right = self._caller.read(block), self._agent.read(block)
                    frames = np.empty(2 * len(left), dtype="<i2")
                    frames[0::2], frames[1::2] = left, right
                    wav.writeframes(frames.tobytes())
        except BaseException:
            out.close()
            raise
        finally:
            self._caller.file.close()
            self._agent.file.close()
        out.seek(0)
        spans = tuple((round(s / self.rate, 3), round(e / self.rate, 3)) for s, e in self._pauses)
        return WavFile(file=out, duration_s=round(length / self.rate, 3), sample_rate=self.rate, channels=2,
                       paused_spans=spans)  # fmt: skip
