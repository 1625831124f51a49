"""Node settings, from arguments or ``UNPOD_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bus_contracts.subjects import StreamSettings


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("UNPOD_DATA_DIR", ".unpod")))
    host: str = field(default_factory=lambda: os.environ.get("UNPOD_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("UNPOD_PORT", "8700")))
    #: An external NATS (cluster) instead of the embedded server, e.g. nats://a:4222,nats://b:4222
    nats_url: str | None = field(default_factory=lambda: os.environ.get("UNPOD_NATS_URL") or None)
    #: Where clients and runners reach this node (bridges are served by the node hosting a call).
    public_url: str | None = field(default_factory=lambda: os.environ.get("UNPOD_PUBLIC_URL") or None)
    stream: StreamSettings = field(
        default_factory=lambda: StreamSettings(replicas=int(os.environ.get("UNPOD_STREAM_REPLICAS", "1")))
    )
    #: fsync policy of the embedded server: "2m" (NATS default) or "always".
    nats_sync: str = field(default_factory=lambda: os.environ.get("UNPOD_NATS_SYNC", "2m"))
    #: How long a write waits for this node's read model before answering 504.
    read_your_writes_timeout_s: float = 5.0
    #: This node's name on the bus (runner sockets and calls are owned by a node).
    node_id: str = field(default_factory=lambda: os.environ.get("UNPOD_NODE_ID") or f"node_{secrets.token_hex(4)}")
    #: Told to runners in ``registered``; three missed heartbeats close their socket.
    runner_heartbeat_s: int = field(default_factory=lambda: int(os.environ.get("UNPOD_RUNNER_HEARTBEAT_S", "5")))
    #: job.assign deadline, and how long a call may wait for a free runner slot.
    dispatch_deadline_ms: int = 2000
    #: How long a pipe's agent_endpoint may take to answer a turn before the fallback is spoken.
    agent_endpoint_timeout_s: float = 10.0
    queue_timeout_s: float = field(default_factory=lambda: float(os.environ.get("UNPOD_QUEUE_TIMEOUT_S", "30")))

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @property
    def read_model_path(self) -> Path:
        return self.data_dir / "read_model.sqlite3"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
