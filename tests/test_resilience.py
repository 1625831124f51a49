"""Failures and scale-out: a NATS restart under a running node, two nodes on one NATS."""

from __future__ import annotations

import asyncio

from deploy.embedded_nats import EmbeddedNats
from tests.conftest import eventually, free_port, start_stack, stop_stack


async def test_node_rides_out_a_nats_crash_and_loses_nothing(tmp_path):
    port = free_port()
    server = EmbeddedNats(tmp_path / "nats", port=port)
    server.start()
    stack = await start_stack(tmp_path / "node", server.url)
    try:
        async with stack.http() as http:
            before = (await http.post("/v1/pipes", json={"name": "before", "agent_id": "bot"})).json()
            server.kill()  # SIGKILL: no chance to flush anything

            async def not_ready():
                r = await http.get("/readyz")
                return r.status_code == 503 and not r.json()["nats_connected"]

            await eventually(not_ready)
            # The store keeps retrying for its retry window (10 s) before giving up.
            down = await http.post("/v1/pipes", json={"name": "during", "agent_id": "bot"}, timeout=30)
            assert down.status_code == 503, down.text
            assert "did not answer" in down.json()["message"]

            server = EmbeddedNats(tmp_path / "nats", port=port)  # same data folder, same port
            server.start()

            async def ready():
                return (await http.get("/readyz")).status_code == 200

            await eventually(ready, timeout=20)
            after = await http.post("/v1/pipes", json={"name": "after", "agent_id": "bot"})
            assert after.status_code == 201, after.text
            names = sorted(p["name"] for p in (await http.get("/v1/pipes")).json()["data"])
            assert names == ["after", "before"]
            assert (await http.get(f"/v1/pipes/{before['pipe_id']}")).status_code == 200
    finally:
        await stop_stack(stack)
        server.stop()


async def test_two_nodes_on_one_nats_never_double_assign_a_number(tmp_path, nats_url):
    a = await start_stack(tmp_path / "a", nats_url)
    b = await start_stack(tmp_path / "b", nats_url, bootstrap=False)
    try:
        # B learns A's key from the event log: the same key works on both nodes.
        await b.node.projector.wait_for(await a.node.store.last_seq())
        async with a.http() as on_a, b.http(api_key=a.api_key) as on_b:
            p1 = (await on_a.post("/v1/pipes", json={"name": "one", "agent_id": "bot"})).json()
            p2 = (await on_b.post("/v1/pipes", json={"name": "two", "agent_id": "bot"})).json()
            number = (await on_a.post("/v1/numbers", json={"number": "+14155550100"})).json()
            await b.node.projector.wait_for(await a.node.store.last_seq())

            for round_no in range(10):
                results = await asyncio.gather(
                    on_a.post(f"/v1/numbers/{number['id']}/attach", json={"pipe_id": p1["pipe_id"]}),
                    on_b.post(f"/v1/numbers/{number['id']}/attach", json={"pipe_id": p2["pipe_id"]}),
                )
                codes = sorted(r.status_code for r in results)
                assert codes == [200, 409], (round_no, [r.text for r in results])
                winner = next(r.json()["pipe_id"] for r in results if r.status_code == 200)
                last = await a.node.store.last_seq()
                await a.node.projector.wait_for(last)
                await b.node.projector.wait_for(last)
                for node_http in (on_a, on_b):
                    seen = (await node_http.get(f"/v1/numbers/{number['id']}")).json()
                    assert seen["pipe_id"] == winner
                    pipes = (await node_http.get("/v1/pipes")).json()["data"]
                    assert [p["pipe_id"] for p in pipes if number["id"] in p["numbers"]] == [winner]
                loser = on_b if winner == p1["pipe_id"] else on_a
                assert (await loser.post(f"/v1/numbers/{number['id']}/detach")).status_code == 200
    finally:
        await stop_stack(b)
        await stop_stack(a)
