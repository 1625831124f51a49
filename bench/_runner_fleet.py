"""Child process for bench/dispatch.py: N AgentRunners of our SDK in one event loop.
Prints one JSON line per call when its entrypoint starts, then ends the call."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unpod import AgentRunner, CallContext  # noqa: E402


async def entry(ctx: CallContext) -> None:
    print(json.dumps({"call_id": ctx.call_id, "t": time.time()}), flush=True)
    await ctx.session.end("completed")


async def main() -> None:
    n, slots = int(sys.argv[1]), int(sys.argv[2])
    key, url = os.environ["UNPOD_API_KEY"], os.environ["UNPOD_BASE_URL"]
    runners = [AgentRunner(entry, agent_id="bench", max_sessions=slots, api_key=key, base_url=url) for _ in range(n)]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    await asyncio.gather(*(asyncio.wait_for(r.registered.wait(), 30) for r in runners))
    print(json.dumps({"ready": n}), flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
