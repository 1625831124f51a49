"""Real processes the tests drive, as a user would."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path


class UpProcess:
    def __init__(self, data_dir: Path, *args: str, **env: str) -> None:
        self.data_dir = data_dir
        self.args = args
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self.url = ""

    async def start(self) -> None:
        env = {**os.environ, "UNPOD_DATA_DIR": str(self.data_dir), "UNPOD_PORT": "0"}
        env.pop("UNPOD_NATS_URL", None)
        env.update(self.env)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", "up", *self.args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        async with asyncio.timeout(30):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                assert line, "unpod up exited early:\n" + "".join(self.output)
                self.output.append(line)
                if m := re.search(r"API:\s+(http://\S+)", line):
                    self.url = m.group(1)
                if "Press Ctrl-C" in line:
                    return

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        async with asyncio.timeout(30):
            rest = await self.proc.stdout.read()
            self.output.append(rest.decode())
            return await self.proc.wait()

    @property
    def text(self) -> str:
        return "".join(self.output)
