"""Dispatch benchmark: a call requested -> the runner's entrypoint running.

The node (NATS embedded, API, dispatcher) runs here; 50 AgentRunners of our SDK
run in a second process (8 slots each); each entrypoint ends its call at once. For
each call, latency = entrypoint start (runner process) - request time (here),
both wall clock on this machine. Also printed: requested -> runner accepted
(the dispatcher's own share), and a raw NATS request/reply burst of the same
size in the same run as the baseline. Target: p50 <= 5 ms, p99 <= 25 ms.

Two runs: 200 arrivals spread evenly over 2 s, 100 calls/s (the target applies
here); then all 200 at the same instant, a stress run that measures queueing (a raw
NATS request burst of the same size queues too).

Run: .venv/bin/python bench/dispatch.py [--rounds 3] [--arrivals 200] [--runners 50] [--spread-s 2] [--no-burst]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nats  # noqa: E402

from actors.call_session import CallSession  # noqa: E402
from bench._util import NodeStack, pct, summary_ms, use_uvloop  # noqa: E402
from bus_contracts import calls as k  # noqa: E402
from bus_contracts.ids import new_call_id  # noqa: E402


async def raw_request_reply(url: str, n: int, spread_s: float) -> list[float]:
    nc = await nats.connect(url)

    async def echo(msg):
        await msg.respond(msg.data)

    await nc.subscribe("bench.echo", cb=echo)
    await nc.flush()

    async def one(i: int) -> float:
        await asyncio.sleep(spread_s * i / n)
        t = time.perf_counter()
        await nc.request("bench.echo", b"x" * 200, timeout=10)
        return time.perf_counter() - t

    out = await asyncio.gather(*(one(i) for i in range(n)))
    await nc.close()
    return list(out)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arrivals", type=int, default=200)
    parser.add_argument("--runners", type=int, default=50)
    parser.add_argument(
        "--spread-s", type=float, default=2.0, help="arrivals spread evenly over this long (the target run)"
    )
    parser.add_argument("--no-burst", action="store_true", help="skip the all-at-once stress run")
    args = parser.parse_args()
    stack = await NodeStack(queue_timeout_s=60).__aenter__()
    server, node, api, creds = stack.nats, stack.node, stack.api, stack.creds
    fleet = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("_runner_fleet.py")), str(args.runners), "8",
        env={**os.environ, "UNPOD_API_KEY": creds.api_key, "UNPOD_BASE_URL": api.url},
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    entered: dict[str, float] = {}
    ready = asyncio.Event()

    async def read_fleet():
        async for line in fleet.stdout:
            msg = json.loads(line)
            if "ready" in msg:
                ready.set()
            else:
                entered[msg["call_id"]] = msg["t"]

    reader = asyncio.create_task(read_fleet())
    await asyncio.wait_for(ready.wait(), 60)
    while len(node.board.entries) < args.runners:  # noqa: ASYNC110 - another process's state; bounded by the fleet's own wait
        await asyncio.sleep(0.05)
    print(f"dispatch benchmark: {args.runners} runners x 8 slots (separate process), {args.rounds} rounds, {LOOP}\n")

    async def measure(spread_s: float, target: bool) -> None:
        how = "all at once: a stress run" if not spread_s else f"spread over {spread_s:g} s"
        to_entry: list[float] = []
        to_accept: list[float] = []
        raw: list[float] = []
        for _ in range(args.rounds):
            requested: dict[str, float] = {}
            accepted: dict[str, float] = {}
            done = asyncio.Event()

            async def quiet(frame):
                return None

            finished: list[str] = []

            async def ended(session, reason, done=done, finished=finished):
                node.sessions.pop(session.call_id, None)
                finished.append(session.call_id)
                if len(finished) == args.arrivals:
                    done.set()

            async def arrive(requested=requested, accepted=accepted):
                call_id = new_call_id()
                requested[call_id] = time.time()
                requested_call = await node.calls.create(
                    call_id,
                    k.RequestCall(project_id=creds.project_id, pipe_id="pipe_bench", session_id=call_id, direction="web",
                                  agent_id="bench", node_id=node.node_id),
                )  # fmt: skip
                request = requested_call.state.request
                session = CallSession(call_id, request, node.calls, node.dispatcher, quiet, ended)
                node.sessions[call_id] = session
                placed = await node.dispatcher.dispatch(call_id)
                accepted[call_id] = time.time()
                session.worker_id, session.job_id, session.runner_node = placed.worker_id, placed.job_id, placed.node_id

            async def paced(i: int):
                await asyncio.sleep(spread_s * i / args.arrivals)
                await arrive()

            await asyncio.gather(*(paced(i) for i in range(args.arrivals)))
            await asyncio.wait_for(done.wait(), 60)
            while not all(c in entered for c in requested):  # noqa: ASYNC110 - the fleet's last lines may lag
                await asyncio.sleep(0.01)
            to_accept += [accepted[c] - requested[c] for c in requested]
            to_entry += [entered[c] - requested[c] for c in requested]
            raw += await raw_request_reply(server.url, args.arrivals, spread_s)

        print(f"{args.arrivals} arrivals {how}: requested -> entrypoint running (the user's code starts)")
        goal = "   (target p50 <= 5 ms, p99 <= 25 ms)" if target else ""
        print(f"  dispatch + bridge     {summary_ms(to_entry)}{goal}")
        print(f"  of which to accepted  {summary_ms(to_accept)}")
        print(f"raw NATS request/reply, {args.arrivals} {how} (baseline)")
        print(f"  request/reply         {summary_ms(raw)}")
        print(f"  ratio p50 dispatch+bridge / raw  {pct(to_entry, 50) / pct(raw, 50):.1f}x\n")

    await measure(args.spread_s, target=True)
    if not args.no_burst:
        await measure(0.0, target=False)
    fleet.terminate()
    await fleet.wait()
    reader.cancel()
    await stack.__aexit__()


if __name__ == "__main__":
    LOOP = use_uvloop()
    asyncio.run(main())
