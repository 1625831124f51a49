"""Turn overhead benchmark: what the platform adds to a turn, at N concurrent conversations.

The node runs here; N callers (door 1, text mode) run in a second process, as real
callers are remote; one AgentRunner of our SDK with an instant echo brain runs in a
third. Per turn:
  in  = runner received the text (runner clock) - client sent it (here)
  out = client got the first delta (here) - runner sent it (runner clock)
(wall clock, same machine), beside a raw WebSocket echo round trip measured in the
same run with the same number of concurrent clients (echo server here, clients in the
second process). Target: p99 of in+out <= 5 ms. Turns start once every conversation is
live and the node's read model has caught up with their arrival: this measures turns
among 500 live conversations, not the arrival of 500 calls (bench/dispatch.py does that).

Two runs: conversations pausing a random 0..2 s before each turn, as people do (the
target applies here); then every conversation sending at the same instant, a stress
run where even the raw echo queues for tens of milliseconds.

Run: .venv/bin/python bench/turns.py [--conversations 500] [--turns 5] [--think-s 2] [--no-lockstep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.server import serve  # noqa: E402

from bench._util import NodeStack, pct, summary_ms, use_uvloop  # noqa: E402
from unpod import AsyncClient  # noqa: E402


async def run_clients(*args: str, settle=None) -> dict:
    """Run the callers in their own process (as real callers are) and return what they
    measured. Door 1 callers report when all are live; ``settle`` runs then, before
    they are told to start talking."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("_turn_clients.py")), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**28,  # the result is one long line
    )  # fmt: skip
    result = None
    try:
        async with asyncio.timeout(600):
            async for line in proc.stdout:
                msg = json.loads(line)
                if "open" in msg:
                    if settle is not None:
                        await settle()
                    proc.stdin.write(b"go\n")
                    await proc.stdin.drain()
                else:
                    result = msg
            await proc.wait()
    finally:
        if proc.returncode is None:  # failed or timed out: do not leave the callers behind
            proc.kill()
            await proc.wait()
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"client process failed with {proc.returncode}")
    return result


async def raw_echo(n: int, turns: int, think_s: float) -> list[float]:
    async def handler(ws):
        async for msg in ws:
            await ws.send(msg)

    async with serve(handler, "127.0.0.1", 0, max_size=2**20, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        result = await run_clients("raw", f"ws://127.0.0.1:{port}", str(turns), str(think_s), str(n))
    return result["rtts"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument(
        "--think-s", type=float, default=2.0, help="random pause (0..think-s) before each turn, as people pause"
    )
    parser.add_argument("--no-lockstep", action="store_true", help="skip the lockstep stress run")
    args = parser.parse_args()
    n = args.conversations
    stack = await NodeStack().__aenter__()
    api, creds = stack.api, stack.creds
    runner = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("_turn_runner.py")), str(max(n, 1000)),
        env={**os.environ, "UNPOD_API_KEY": creds.api_key, "UNPOD_BASE_URL": api.url},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    dumped = asyncio.Queue()
    got: dict[str, float] = {}
    sent: dict[str, float] = {}
    ready = asyncio.Event()

    async def read_runner():
        async for line in runner.stdout:
            msg = json.loads(line)
            if "ready" in msg:
                ready.set()
            elif "dumped" in msg:
                dumped.put_nowait(msg["dumped"])
            elif "got" in msg:
                got[msg["k"]] = msg["got"]
            else:
                sent[msg["k"]] = msg["sent"]

    reader = asyncio.create_task(read_runner())
    await asyncio.wait_for(ready.wait(), 60)
    async with AsyncClient(api_key=creds.api_key, base_url=api.url) as c:
        pipe = await c.pipes.create(name="turns", agent_id="turns")
    base = f"{api.url.replace('http://', 'ws://')}/v1/pipes/{pipe.pipe_id}/connect"

    async def measure(think_s: float, target: bool) -> None:
        async with AsyncClient(api_key=creds.api_key, base_url=api.url) as c:
            tokens = [(await c.sessions.create_token(pipe.pipe_id)).token for _ in range(n)]
        tokens_file = Path(tempfile.mkdtemp()) / "tokens.json"
        tokens_file.write_text(json.dumps(tokens))

        async def settle() -> None:
            # Turns are measured among live conversations, not amid their arrival:
            # the node's read model first catches up with the 500 calls' events.
            await stack.node.projector.wait_for(await stack.node.store.last_seq(), timeout=60)

        result = await run_clients("door1", base, str(args.turns), str(think_s), str(tokens_file), settle=settle)
        client_sent, client_first, elapsed = result["sent"], result["first"], result["elapsed"]
        runner.stdin.write(b"dump\n")
        await asyncio.wait_for(dumped.get(), 30)
        keys = [k for k in client_sent if k in got and k in sent and k in client_first]
        inbound = [got[k] - client_sent[k] for k in keys]
        outbound = [client_first[k] - sent[k] for k in keys]
        both = [i + o for i, o in zip(inbound, outbound, strict=True)]
        raw = await raw_echo(n, args.turns, think_s)
        pacing = f"random think time up to {think_s:g} s" if think_s else "all in lockstep: a stress run"
        print(f"{n} concurrent conversations x {args.turns} turns ({pacing})")
        print(f"  client text -> runner   {summary_ms(inbound)}")
        print(f"  runner delta -> client  {summary_ms(outbound)}")
        print(f"  platform, both ways     {summary_ms(both)}" + ("   (target p99 <= 5 ms)" if target else ""))
        print(f"  raw WebSocket echo RTT  {summary_ms(raw)}   ({n} clients, same pacing, same run)")
        print(
            f"  ratio both-ways / raw RTT   p50 {pct(both, 50) / pct(raw, 50):.1f}x   p99 {pct(both, 99) / pct(raw, 99):.1f}x"
        )
        print(f"  ({len(keys)} of {n * args.turns} turns matched; the run took {elapsed:.1f}s)\n")

    print(f"turn overhead, one runner process, callers in another, {LOOP}\n")
    try:
        await measure(args.think_s, target=True)
        if not args.no_lockstep:
            await measure(0.0, target=False)
    finally:
        runner.terminate()
        await runner.wait()
        reader.cancel()
        await stack.__aexit__()


if __name__ == "__main__":
    LOOP = use_uvloop()
    asyncio.run(main())
