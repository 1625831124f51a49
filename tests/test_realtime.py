"""Whether the node keeps up with real time (speech.realtime): a caller frame is timed
from when the node read its bytes off the socket, so a frame that waited to be taken up
counts as late."""

from __future__ import annotations

import time

from uvicorn.config import Config
from uvicorn.server import ServerState

from api.ws_protocol import READ_AT, StampedWebSocketProtocol
from speech import realtime
from tests.bare_session import bare_session, nothing

WINDOW = bytes(1024)  # one 32 ms VAD window at 16 kHz


async def test_a_caller_frame_that_waited_after_its_read_is_late_by_that_wait():
    session = bare_session()
    await session.start()
    realtime.COUNTS.reset()
    try:
        await session.feed(WINDOW, time.monotonic())
        assert (realtime.COUNTS.frames_in, realtime.COUNTS.late_in) == (1, 0)

        await session.feed(WINDOW, time.monotonic() - 0.100)  # read 100 ms before the door took it up
        assert (realtime.COUNTS.frames_in, realtime.COUNTS.late_in) == (2, 1)
        assert realtime.COUNTS.worst_in_s >= 0.100

        half = WINDOW[:512]  # a frame is complete with the bytes read last
        await session.feed(half, time.monotonic() - 0.100)
        await session.feed(half, time.monotonic())
        assert (realtime.COUNTS.frames_in, realtime.COUNTS.late_in) == (3, 1)
    finally:
        await session.stop()
        realtime.COUNTS.reset()


async def test_the_websocket_protocol_stamps_what_it_reads_and_nothing_else():
    protocol = StampedWebSocketProtocol(config=Config(app=nothing), server_state=ServerState(), app_state={})
    before = time.monotonic()
    protocol.queue.put_nowait({"type": "websocket.receive", "bytes": b"\x00\x00"})
    protocol.queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    received, disconnect = protocol.queue.get_nowait(), protocol.queue.get_nowait()
    assert before <= received[READ_AT] <= time.monotonic()
    assert READ_AT not in disconnect
