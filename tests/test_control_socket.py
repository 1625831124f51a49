"""Door 2, the runner control socket, over a real WebSocket on loopback."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from bus_contracts.ids import runner_aggregate_id
from tests.conftest import eventually, start_stack, stop_stack
from tests.raw_runner import RawRunner


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])  # the published SDK sends Token, ours Bearer
async def test_register_heartbeat_and_board(stack, scheme):
    runner = RawRunner(stack.ws_url, stack.api_key, capacity=3, scheme=scheme)
    registered = await runner.start()
    assert registered == {"type": "registered", "heartbeat_interval_s": 5, "transport_ack": "dial_out"}
    entry = await eventually(lambda: _board(stack, runner.worker_id))
    assert (entry.capacity, entry.load, entry.agent_id, entry.project_id) == (3, 0, "bot", stack.project_id)
    events = await stack.node.store.read_subject("runner", runner_aggregate_id(runner.worker_id))
    assert [e.envelope.type for e in events] == ["runner.registered"]
    assert events[0].event.worker_id == runner.worker_id and events[0].event.node_id == stack.node.node_id

    await runner.stop()

    async def lost():
        events = await stack.node.store.read_subject("runner", runner_aggregate_id(runner.worker_id))
        return [e.envelope.type for e in events] == ["runner.registered", "runner.lost"]

    await eventually(lost)
    await eventually(lambda: _no_board(stack, runner.worker_id))


async def _board(stack, worker_id):
    return next((e for e in stack.node.board.entries.values() if e.worker_id == worker_id), None)


async def _no_board(stack, worker_id):
    return await _board(stack, worker_id) is None


@pytest.mark.parametrize("auth", [None, "Token nope", "Bearer sk-" + "0" * 16 + "x" * 43, "Basic abc"])
async def test_bad_key_closes_4001(stack, auth):
    headers = {"Authorization": auth} if auth else {}
    async with connect(f"{stack.ws_url}/v1/internal/workers", additional_headers=headers) as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 4001


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ("not json", 4400),
        ({"type": "heartbeat", "active_jobs": 0}, 4400),
        ({"type": "register", "worker_id": "x#1", "capabilities": {"agent_id": "bad id!", "max_concurrent": 1}}, 4400),
        ({"type": "register", "worker_id": "x#1", "capabilities": {"agent_id": "bot", "max_concurrent": 0}}, 4400),
        ({"type": "register", "worker_id": "x#1", "pool": "other", "capabilities": {"agent_id": "bot"}}, 4400),
        ({"type": "register", "worker_id": "x#1", "capabilities": {"agent_id": "bot", "transport": "serve"}}, 4002),
    ],
)
async def test_a_bad_first_frame_closes_with_a_documented_code(stack, first, code):
    async with connect(
        f"{stack.ws_url}/v1/internal/workers", additional_headers={"Authorization": f"Bearer {stack.api_key}"}
    ) as ws:
        await ws.send(first if isinstance(first, str) else json.dumps(first))
        await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == code, ws.close_reason


async def test_bad_frames_after_registration_get_error_frames_and_the_socket_stays(stack):
    runner = RawRunner(stack.ws_url, stack.api_key)
    other = RawRunner(stack.ws_url, stack.api_key)
    await runner.start()
    await other.start()
    await runner._ws.send("{broken")
    await runner.send({"type": "teleport"})
    await runner.send({"type": "register", "worker_id": runner.worker_id})

    async def three_errors():
        return len(runner.other) >= 3

    await eventually(three_errors)
    assert [e["code"] for e in runner.other] == ["malformed_frame", "unknown_frame", "already_registered"]
    assert runner.close_code is None and other.close_code is None  # both still connected
    await runner.stop()
    await other.stop()


async def test_the_same_worker_reconnecting_replaces_the_old_socket(stack):
    first = RawRunner(stack.ws_url, stack.api_key)
    await first.start()
    second = RawRunner(stack.ws_url, stack.api_key)
    second.worker_id = first.worker_id
    await second.start()
    assert await first.wait_closed() == 4009
    assert second.close_code is None
    await second.stop()


async def test_missed_heartbeats_close_4008(tmp_path, nats_url):
    stack = await start_stack(tmp_path / "n", nats_url, runner_heartbeat_s=1)
    try:
        silent = RawRunner(stack.ws_url, stack.api_key, heartbeat=False)
        await silent.start()
        assert await silent.wait_closed(timeout=8) == 4008
    finally:
        await stop_stack(stack)
