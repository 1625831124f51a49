"""Serve the app with uvicorn inside our own event loop. The node, not uvicorn,
owns signals: uvicorn's handler capture is turned off so shutdown runs in order."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from api.app import create_app
from api.node import Node
from api.ws_protocol import StampedWebSocketProtocol


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the caller owns signal handling
        yield


class ApiServer:
    def __init__(self, node: Node, host: str, port: int) -> None:
        self.node = node
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Bind first, so port 0 resolves to a real port before anyone needs the URL.
        # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets
        # that say they are TCP, and without it Nagle held small frames for 40 ms.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self.port = self._sock.getsockname()[1]
        if not self.node.settings.public_url:
            self.node.public_url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(
            create_app(self.node),
            lifespan="off",
            log_level="warning",
            access_log=False,  # query strings carry session tokens: never log them
            ws=StampedWebSocketProtocol,  # websockets-sansio, with read times (speech.realtime)
            # Our frames are small JSON and raw PCM: deflate bought nothing and cost
            # both ends CPU on every frame (a tenth of the node's time per turn).
            ws_per_message_deflate=False,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="uvicorn")
        async with asyncio.timeout(10):
            while not self._server.started:  # uvicorn offers no started event
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout)
        if self._sock is not None:
            self._sock.close()
