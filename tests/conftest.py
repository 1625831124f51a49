"""Shared fixtures: every test that needs NATS gets its own real nats-server with
JetStream on a free loopback port, in a temporary folder."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import nats
import pytest

from actors.event_store import EventStore
from deploy.embedded_nats import EmbeddedNats


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def eventually(check, timeout: float = 10.0, interval: float = 0.02):
    """Poll ``check`` (an async callable) until it returns a truthy value or time runs out.
    For conditions with no event to wait on (another process's state), bounded."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(interval)


@pytest.fixture
def nats_server(tmp_path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    assert nats_server.url
    return nats_server.url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[nats.NATS]:
    conn = await nats.connect(nats_url)
    yield conn
    await conn.close()


@pytest.fixture
async def store(nc) -> AsyncIterator[EventStore]:
    s = EventStore(nc)
    await s.start()
    yield s
    await s.stop()


# --- a running node (API + projector) on loopback ---------------------------

from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402

from api.bootstrap import create_project_with_key  # noqa: E402
from api.node import Node  # noqa: E402
from api.server import ApiServer  # noqa: E402
from api.settings import Settings  # noqa: E402


@dataclass
class Stack:
    node: Node
    server: ApiServer
    url: str
    api_key: str
    project_id: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def http(self, api_key: str | None = None) -> httpx.AsyncClient:
        key = self.api_key if api_key is None else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10)


async def start_stack(data_dir, nats_url: str, *, bootstrap: bool = True, **settings) -> Stack:
    node = Node(Settings(data_dir=data_dir, host="127.0.0.1", port=0, **settings), nats_url)
    await node.start()
    server = ApiServer(node, "127.0.0.1", 0)
    try:
        await server.start()
        creds = await create_project_with_key(node, "default") if bootstrap else None
    except BaseException:
        await server.stop()
        await node.stop()
        raise
    return Stack(node, server, server.url, creds.api_key if creds else "", creds.project_id if creds else "")


async def stop_stack(stack: Stack) -> None:
    await stack.server.stop()
    await stack.node.stop()


@pytest.fixture
async def stack(tmp_path, nats_url) -> AsyncIterator[Stack]:
    s = await start_stack(tmp_path / "node", nats_url)
    yield s
    await stop_stack(s)
