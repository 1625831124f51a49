"""Child process for bench/turns.py: one AgentRunner (our SDK) with an instant echo
brain. It keeps, per turn, when the text arrived and when the first delta left, and
prints them when asked on stdin (printing while measuring would disturb the run)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unpod import AgentRunner, CallContext  # noqa: E402

OUT: list[str] = []


class Echo:
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id

    async def stream(self, text: str):
        OUT.append(json.dumps({"k": f"{self.call_id}:{text}", "sent": time.time()}))
        yield text


async def entry(ctx: CallContext) -> None:
    ctx.session.dialog_machine = Echo(ctx.call_id)
    ctx.session.on("user_turn", lambda text: OUT.append(json.dumps({"k": f"{ctx.call_id}:{text}", "got": time.time()})))
    await ctx.session.run()


async def dump_on_request() -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.readline():
        lines, OUT[:] = list(OUT), []
        print("\n".join([*lines, json.dumps({"dumped": len(lines)})]), flush=True)


async def main() -> None:
    runner = AgentRunner(entry, agent_id="turns", max_sessions=int(sys.argv[1]),
                         api_key=os.environ["UNPOD_API_KEY"], base_url=os.environ["UNPOD_BASE_URL"])  # fmt: skip
    dumper = asyncio.create_task(dump_on_request())
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.registered.wait(), 30)
    print(json.dumps({"ready": True}), flush=True)
    await task
    dumper.cancel()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
