"""Shared fixtures: every test that needs NATS gets its own real nats-server with
JetStream on a free loopback port, in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import nats
import pytest

from actors.event_store import EventStore
from deploy.embedded_nats import EmbeddedNats


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
