"""A 3-node NATS JetStream cluster on loopback: the event stream is created with
3 replicas and the management plane keeps working, losing nothing, when the
server a node is connected to is killed."""

from __future__ import annotations

import nats
import pytest

from api.node import Node
from api.settings import Settings
from bus_contracts.subjects import StreamSettings
from deploy.embedded_nats import EmbeddedNats
from tests.conftest import free_port


@pytest.fixture
def cluster(tmp_path):
    ports = [free_port() for _ in range(3)]
    cluster_ports = [free_port() for _ in range(3)]
    routes = tuple(f"nats://127.0.0.1:{p}" for p in cluster_ports)
    servers = [
        EmbeddedNats(
            tmp_path / f"n{i}", port=ports[i], server_name=f"n{i}", cluster_port=cluster_ports[i], routes=routes
        )
        for i in range(3)
    ]
    for s in servers:
        s.start()
    yield servers
    for s in servers:
        s.stop()


@pytest.mark.timeout(120)
async def test_r3_stream_survives_losing_a_server(cluster, tmp_path):
    urls = ",".join(s.url for s in cluster)
    node = Node(Settings(data_dir=tmp_path / "node", stream=StreamSettings(replicas=3)), urls)
    await node.start()
    try:
        info = await node.store.js.stream_info("UNPOD_EVENTS")
        assert info.config.num_replicas == 3
        m = node.management
        project = await m.create_project("p")
        for i in range(20):
            await m.create_pipe(project.id, _config(f"before {i}"))

        connected = node.nc.connected_url.port
        victim = next(s for s in cluster if s.url.endswith(f":{connected}"))
        victim.kill()

        after = [await m.create_pipe(project.id, _config(f"after {i}")) for i in range(20)]
        await node.projector.wait_for(after[-1].seq, timeout=30)
        names = sorted(r["name"] for r in await node.reads.pipes(project.id))
        assert names == sorted([f"before {i}" for i in range(20)] + [f"after {i}" for i in range(20)])
        assert node.nc.connected_url.port != connected  # it failed over to a surviving member
    finally:
        await node.stop()

    # Every acknowledged event is on the surviving members.
    survivor = next(s for s in cluster if s.process is not None)
    nc = await nats.connect(survivor.url)
    info = await nc.jetstream().stream_info("UNPOD_EVENTS")
    assert info.state.messages >= 1 + 40 and info.state.last_seq == after[-1].seq
    await nc.close()


def _config(name: str):
    from bus_contracts.events import PipeConfig

    return PipeConfig(name=name, agent_id="bot")
