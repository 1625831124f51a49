"""A PocketSphinx decoder in a process of its own (speech.pocketsphinx_stt runs these).

Its Python binding holds the GIL for a whole decode: a 3.7 s utterance took 420-590 ms,
and another thread of the process waited 340-510 ms. Decoded in a thread of the node,
every utterance held every call's audio on the node that long.

Protocol, on stdin/stdout: the worker writes ``b"R"`` once its decoder is loaded; then,
for each request (4-byte little-endian length, then that much 16 kHz 16-bit mono PCM)
it answers with a 4-byte length and the words it heard, UTF-8. It exits when stdin
closes (the node is gone or done with it)."""

from __future__ import annotations

import os
import struct
import sys

SAMPLE_RATE = 16000
#: Below the node's priority: a decode can wait a few ms, a call's audio cannot.
NICENESS = 5


def _read(stream, n: int) -> bytes | None:
    data = stream.read(n)
    return data if len(data) == n else None


def main() -> None:
    from pocketsphinx import Decoder  # the en-US model ships inside the wheel

    os.nice(NICENESS)
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    answers.write(b"R")
    answers.flush()
    while (header := _read(requests, 4)) is not None:
        pcm = _read(requests, struct.unpack("<I", header)[0])
        if pcm is None:
            return
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        words = (hypothesis.hypstr.strip() if hypothesis is not None else "").encode()
        answers.write(struct.pack("<I", len(words)) + words)
        answers.flush()


if __name__ == "__main__":
    main()
