"""Helpers shared by benchmarks: percentiles, a NATS server, printing."""

from __future__ import annotations

import gc
import statistics
import tempfile
from collections.abc import Sequence

from deploy.embedded_nats import EmbeddedNats


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values_s: Sequence[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"p50 {pct(ms, 50):7.3f} ms   p99 {pct(ms, 99):7.3f} ms   (n={len(ms)})"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def start_nats() -> EmbeddedNats:
    server = EmbeddedNats(tempfile.mkdtemp(prefix="unpod-bench-"))
    server.start()
    return server


def use_uvloop() -> str:
    try:
        import uvloop

        uvloop.install()
        return "uvloop"
    except ImportError:
        return "asyncio"


class NodeStack:
    """A whole node for a benchmark: embedded NATS, node, API on loopback, a project key."""

    def __init__(self, **settings) -> None:
        self.settings = settings

    async def __aenter__(self) -> NodeStack:
        import tempfile
        from pathlib import Path

        from api.bootstrap import create_project_with_key
        from api.node import Node
        from api.server import ApiServer
        from api.settings import Settings

        self.nats = start_nats()
        self.node = Node(Settings(data_dir=Path(tempfile.mkdtemp()), port=0, **self.settings), self.nats.url)
        await self.node.start()
        self.api = ApiServer(self.node, "127.0.0.1", 0)
        await self.api.start()
        self.creds = await create_project_with_key(self.node, "bench")
        await self.node.warmed()
        gc.freeze()  # as `unpod up` does once the node is up and its models are in
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.api.stop()
        await self.node.stop()
        self.nats.stop()
