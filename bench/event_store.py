"""Event store benchmark: our append/load/projection beside raw JetStream publish.

Prints, each measured in this run on the same nats-server (file storage):
  * single-append latency p50/p99: EventStore.append vs raw js.publish (one at a time)
  * pipelined append throughput: EventStore.append vs raw js.publish, 256 in flight
  * time to load a 1,000-event aggregate (p50/p99 over repeated loads)
  * projection lag (append acknowledged -> row committed in SQLite) p50/p99 at 2,000 events/s

Targets: throughput >= 0.8x raw; 1,000-event load <= 20 ms; projection lag p99 <= 50 ms.
Run: .venv/bin/python bench/event_store.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nats  # noqa: E402
from nats.js.api import StorageType, StreamConfig  # noqa: E402

from actors.deciders import pipe  # noqa: E402
from actors.event_store import EventStore  # noqa: E402
from bench._util import median, pct, start_nats, summary_ms, use_uvloop  # noqa: E402
from bus_contracts import events as e  # noqa: E402
from bus_contracts.envelope import encode_envelope, seal  # noqa: E402
from bus_contracts.events import PipeConfig  # noqa: E402
from projections.projector import Projector  # noqa: E402

P = "prj_bench"
CONFIG = PipeConfig(name="bench", agent_id="bench-bot")


def created(pid: str):
    return seal(e.PipeCreated(project_id=P, config=CONFIG), aggregate_id=pid, project_id=P)


def renamed(pid: str, i: int):
    return seal(e.PipeUpdated(name=f"name {i}"), aggregate_id=pid, project_id=P)


async def single_latency(store: EventStore, js, n: int, tag: str) -> tuple[list[float], list[float]]:
    pid = f"pipe_lat_{tag}"
    version = (await store.append([created(pid)], 0)).last_seq
    payload = encode_envelope(renamed(pid, 0))
    ours, raw = [], []
    for i in range(n):  # interleaved, so both see the same server state
        env = renamed(pid, i)
        t0 = time.perf_counter()
        version = (await store.append([env], version)).last_seq
        t1 = time.perf_counter()
        await js.publish(f"raw.lat.{tag}", payload)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        raw.append(t2 - t1)
    return ours, raw


async def pipelined(store: EventStore, js, n: int, in_flight: int, tag: str, raw_first: bool) -> tuple[float, float]:
    """Events/s for n appends with `in_flight` outstanding; each to its own aggregate position."""
    envs = [created(f"pipe_tp_{tag}_{i}") for i in range(n)]
    payload = encode_envelope(envs[0])
    sem = asyncio.Semaphore(in_flight)

    async def ours_one(env):
        async with sem:
            await store.append([env], 0)

    async def raw_one(i):
        async with sem:
            await js.publish(f"raw.tp.{tag}.{i}", payload)

    async def rate(make) -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*make())
        return n / (time.perf_counter() - t0)

    # Alternate who goes first, so neither always meets the larger stream.
    if raw_first:
        raw_rate = await rate(lambda: (raw_one(i) for i in range(n)))
        ours_rate = await rate(lambda: (ours_one(env) for env in envs))
    else:
        ours_rate = await rate(lambda: (ours_one(env) for env in envs))
        raw_rate = await rate(lambda: (raw_one(i) for i in range(n)))
    return ours_rate, raw_rate


async def load_times(store: EventStore, events: int, loads: int) -> list[float]:
    pid = "pipe_load"
    version = (await store.append([created(pid)], 0)).last_seq
    batch = 50
    for start in range(1, events, batch):
        envs = [renamed(pid, i) for i in range(start, min(start + batch, events))]
        version = (await store.append(envs, version)).last_seq
    times = []
    for _ in range(loads):
        t0 = time.perf_counter()
        loaded = await store.load(pipe.DECIDER, pid)
        times.append(time.perf_counter() - t0)
        assert loaded.events == events, loaded.events
    return times


async def projection_lag(store: EventStore, rate: int, seconds: float, tag: str) -> list[float]:
    acked: dict[int, float] = {}
    lags: list[float] = []

    def applied(records):
        now = time.perf_counter()
        for r in records:
            t = acked.pop(r.seq, None)
            if t is not None:
                lags.append(now - t)

    db = Path(tempfile.mkdtemp()) / "lag.sqlite3"
    projector = Projector(store, db, on_applied=applied)
    await projector.start()
    await projector.wait_for(await store.last_seq(), 30)
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    start = time.perf_counter()
    sent = 0

    async def one(i):
        result = await store.append([created(f"pipe_lag_{tag}_{i}")], 0)
        acked[result.last_seq] = time.perf_counter()

    pending = set()
    while time.perf_counter() - start < seconds:
        for _ in range(per_tick):
            pending.add(asyncio.ensure_future(one(sent)))
            sent += 1
        next_tick = start + (sent / per_tick) * tick
        await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        pending = {t for t in pending if not t.done()}
    await asyncio.gather(*pending)
    achieved = sent / (time.perf_counter() - start)
    await projector.wait_for(await store.last_seq(), 30)
    await projector.stop()
    print(f"  (offered {rate}/s, achieved {achieved:.0f}/s, {sent} events)")
    return lags


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-n", type=int, default=2000)
    parser.add_argument("--throughput-n", type=int, default=10000)
    args = parser.parse_args()
    server = start_nats()
    nc = await nats.connect(server.url)
    try:
        store = EventStore(nc)
        await store.start()
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="RAW", subjects=["raw.>"], storage=StorageType.FILE))
        print(f"event store benchmark (nats-server file storage, {LOOP}, {args.rounds} rounds)\n")

        ours_lat, raw_lat = [], []
        for r in range(args.rounds):
            o, w = await single_latency(store, js, args.latency_n, f"r{r}")
            ours_lat += o
            raw_lat += w
        print("single append latency (one at a time)")
        print(f"  EventStore.append     {summary_ms(ours_lat)}")
        print(f"  raw js.publish        {summary_ms(raw_lat)}")
        print(f"  ratio p50 ours/raw    {pct(ours_lat, 50) / pct(raw_lat, 50):.2f}x\n")

        rates = [
            await pipelined(store, js, args.throughput_n, 256, f"r{r}", raw_first=r % 2 == 0)
            for r in range(max(args.rounds, 5))
        ]
        ours_rates = [o for o, _ in rates]
        raw_rates = [w for _, w in rates]
        print("pipelined append throughput (256 in flight)")
        print(
            f"  EventStore.append     median {median(ours_rates):8.0f} ev/s   rounds {[round(x) for x in ours_rates]}"
        )
        print(f"  raw js.publish        median {median(raw_rates):8.0f} ev/s   rounds {[round(x) for x in raw_rates]}")
        ratio = median(ours_rates) / median(raw_rates)
        print(f"  ratio ours/raw        {ratio:.2f}x   (target >= 0.80x)\n")

        times = await load_times(store, 1000, 30 * args.rounds)
        print("load a 1,000-event aggregate (fold included)")
        print(f"  EventStore.load       {summary_ms(times)}   (target <= 20 ms)\n")

        print("projection lag at 2,000 events/s (append acked -> committed in SQLite)")
        lags = []
        for r in range(args.rounds):
            lags += await projection_lag(store, 2000, 5.0, f"r{r}")
        print(f"  lag                   {summary_ms(lags)}   (target p99 <= 50 ms)")
        await store.stop()
    finally:
        await nc.close()
        server.stop()


if __name__ == "__main__":
    LOOP = use_uvloop()
    asyncio.run(main())
