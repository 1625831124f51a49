"""uvicorn's WebSocket protocol, stamping each message with when the node read it.

A caller's audio waits between the read off the socket and the door's task taking it
up (a pass of the event loop, more when the loop is busy). Counted from the door's
task, that wait would never show in whether the node kept up with real time
(speech.realtime): stamped here, as the protocol reads it, it does.
"""

from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

#: Key on an ASGI ``websocket.receive`` message: when its last bytes were read (time.monotonic()).
READ_AT = "unpod.read_at"


class _StampingQueue(asyncio.Queue):
    def put_nowait(self, item) -> None:
        if item["type"] == "websocket.receive":
            item[READ_AT] = time.monotonic()
        super().put_nowait(item)


class StampedWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _StampingQueue()
