"""Child process for bench/turns.py: the callers, kept out of the node's process as
real callers are. Holds N text conversations on door 1 (or, with --raw, N raw
WebSocket echo clients) and prints one JSON document with its timestamps. In door1
mode it first prints ``{"open": N}`` once every conversation is live and waits for a
line on stdin before the first turn.

argv: <mode: door1|raw> <ws url or base> <turns> <think_s> [tokens file]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

from websockets.asyncio.client import connect


async def door1(base: str, tokens: list[str], turns: int, think_s: float) -> dict:
    sent: dict[str, float] = {}
    first: dict[str, float] = {}
    opened = 0
    all_open = asyncio.Event()
    go = asyncio.Event()

    async def wait_for_go() -> None:
        await all_open.wait()
        print(json.dumps({"open": len(tokens)}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        go.set()

    waiter = asyncio.create_task(wait_for_go())

    async def conversation(token: str) -> None:
        nonlocal opened
        async with connect(f"{base}?token={token}", max_size=2**20) as ws:
            call_id = None
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "session.started":
                    call_id = frame["call_id"]
                if frame["type"] == "state" and frame["state"] == "listening":
                    break
            opened += 1
            if opened == len(tokens):
                all_open.set()
            await asyncio.wait_for(all_open.wait(), 120)  # all conversations live before the first turn
            await asyncio.wait_for(go.wait(), 120)  # and the node done with their arrival (see bench/turns.py)
            for i in range(turns):
                if think_s:  # people do not all speak at the same instant
                    await asyncio.sleep(random.uniform(0, think_s))
                text = f"turn {i}"
                key = f"{call_id}:{text}"
                sent[key] = time.time()
                await ws.send(json.dumps({"type": "user.text", "text": text}))
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "agent.delta" and key not in first:
                        first[key] = time.time()
                    if frame["type"] == "agent.reply":
                        break
            await ws.send(json.dumps({"type": "hangup"}))

    t0 = time.perf_counter()
    await asyncio.gather(*(conversation(t) for t in tokens))
    await waiter
    return {"sent": sent, "first": first, "elapsed": time.perf_counter() - t0}


async def raw(url: str, n: int, turns: int, think_s: float) -> dict:
    rtts: list[float] = []

    async def client() -> None:
        async with connect(url, max_size=2**20, compression=None) as ws:
            for i in range(turns):
                if think_s:
                    await asyncio.sleep(random.uniform(0, think_s))
                t = time.perf_counter()
                await ws.send(json.dumps({"type": "user.text", "text": f"turn {i}"}))
                await ws.recv()
                rtts.append(time.perf_counter() - t)

    await asyncio.gather(*(client() for _ in range(n)))
    return {"rtts": rtts}


def main() -> None:
    mode, url, turns, think_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    if mode == "door1":
        with open(sys.argv[5]) as f:
            tokens = json.load(f)
        work = door1(url, tokens, turns, think_s)
    else:
        work = raw(url, int(sys.argv[5]), turns, think_s)
    try:
        import uvloop

        result = uvloop.run(work)
    except ImportError:
        result = asyncio.run(work)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
