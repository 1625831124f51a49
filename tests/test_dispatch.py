"""The dispatcher against real runners on real sockets: placement, failover, queueing,
and two API nodes sharing one NATS never overbooking a runner."""

from __future__ import annotations

import asyncio
import uuid

from bus_contracts import calls as k
from tests.conftest import eventually, start_stack, stop_stack
from tests.raw_runner import RawRunner


async def request_call(stack, agent_id="bot", node=None) -> str:
    node = node or stack.node
    call_id = "call_" + uuid.uuid4().hex
    await node.calls.execute(
        call_id,
        k.RequestCall(
            project_id=stack.project_id, pipe_id="pipe_1", session_id=call_id, direction="web", agent_id=agent_id
        ),
    )
    return call_id


async def call_events(stack, call_id):
    return [r.envelope.type for r in await stack.node.store.read_subject("call", call_id)]


async def runners_on_board(stack, n):
    async def ready():
        return len(stack.node.board.entries) >= n

    await eventually(ready)


async def test_least_loaded_placement_and_the_offer_frame(stack):
    a = RawRunner(stack.ws_url, stack.api_key, capacity=4)
    b = RawRunner(stack.ws_url, stack.api_key, capacity=4)
    await a.start()
    await b.start()
    await runners_on_board(stack, 2)
    calls = [await request_call(stack) for _ in range(6)]
    for call_id in calls:  # one after another: each sees the load the previous one left
        placed = await stack.node.dispatcher.dispatch(call_id)
        assert placed.worker_id in (a.worker_id, b.worker_id)
    assert (len(a.assigns), len(b.assigns)) == (3, 3)
    offer = a.assigns[0]
    assert offer["agent_id"] == "bot" and offer["bridge_url"].endswith(f"/v1/bridge/{offer['call_id']}")
    assert offer["bridge_url"].startswith(stack.ws_url) and offer["deadline_ms"] == 2000 and offer["call_token"]
    assert offer["metadata"]["direction"] == "web"
    assert await call_events(stack, calls[0]) == ["call.requested", "call.runner_assigned", "call.runner_accepted"]
    await a.stop()
    await b.stop()


async def test_rejection_fails_over_to_the_next_runner(stack):
    refuser = RawRunner(
        stack.ws_url, stack.api_key, capacity=8, answer=lambda _: {"accepted": False, "reason": "at_capacity"}
    )
    taker = RawRunner(stack.ws_url, stack.api_key, capacity=1)
    await refuser.start()
    await taker.start()
    await runners_on_board(stack, 2)
    call_id = await request_call(stack)
    placed = await stack.node.dispatcher.dispatch(call_id)
    assert placed.worker_id == taker.worker_id  # the emptier-looking refuser was asked first
    assert len(refuser.assigns) == 1
    records = await stack.node.store.read_subject("call", call_id)
    assert [r.envelope.type for r in records] == [
        "call.requested", "call.runner_assigned", "call.runner_rejected", "call.runner_assigned", "call.runner_accepted",
    ]  # fmt: skip
    assert records[2].event.reason == "at_capacity"
    await refuser.stop()
    await taker.stop()


async def test_a_silent_runner_times_out_gets_a_cancel_and_the_next_one_takes_it(tmp_path, nats_url):
    stack = await start_stack(tmp_path / "n", nats_url, dispatch_deadline_ms=300)
    try:
        silent = RawRunner(stack.ws_url, stack.api_key, capacity=8, answer=lambda _: None)
        taker = RawRunner(stack.ws_url, stack.api_key, capacity=1)
        await silent.start()
        await taker.start()
        await runners_on_board(stack, 2)
        call_id = await request_call(stack)
        placed = await stack.node.dispatcher.dispatch(call_id)
        assert placed.worker_id == taker.worker_id
        records = await stack.node.store.read_subject("call", call_id)
        assert records[2].envelope.type == "call.runner_rejected" and records[2].event.reason == "timeout"

        async def cancelled():
            return silent.cancels

        cancels = await eventually(cancelled)
        assert cancels[0]["job_id"] == silent.assigns[0]["job_id"]
        # A late accept from the silent runner changes nothing.
        await silent.send(
            {
                "type": "job.ack",
                "job_id": silent.assigns[0]["job_id"],
                "assign_id": silent.assigns[0]["assign_id"],
                "accepted": True,
            }
        )
        assert (await stack.node.calls.read(call_id)).state.worker_id == taker.worker_id
        await silent.stop()
        await taker.stop()
    finally:
        await stop_stack(stack)


async def test_no_capacity_queues_until_a_slot_frees(stack):
    only = RawRunner(stack.ws_url, stack.api_key, capacity=1)
    await only.start()
    await runners_on_board(stack, 1)
    first = await request_call(stack)
    assert (await stack.node.dispatcher.dispatch(first)).worker_id == only.worker_id
    second = await request_call(stack)
    waiting = asyncio.create_task(stack.node.dispatcher.dispatch(second))

    async def queued():
        return stack.node.dispatcher.queued_for(stack.project_id, "bot") == 1

    await eventually(queued)
    assert "call.queued" in await call_events(stack, second)
    await stack.node.local_runners.finish(only.worker_id, only.assigns[0]["job_id"])  # the first call ends
    placed = await asyncio.wait_for(waiting, 5)
    assert placed.worker_id == only.worker_id
    assert stack.node.dispatcher.queued_for(stack.project_id, "bot") == 0
    await only.stop()


async def test_a_runner_that_says_it_is_full_is_not_asked_again_while_the_call_waits(stack):
    """A runner whose slots look free here but which answers at_capacity (it counts work
    we do not see) is believed: the call waits for a real free slot instead of bouncing
    off it until its attempts run out."""
    busy = RawRunner(stack.ws_url, stack.api_key, capacity=1)
    refuser = RawRunner(
        stack.ws_url, stack.api_key, capacity=1, answer=lambda _: {"accepted": False, "reason": "at_capacity"}
    )
    await busy.start()
    await refuser.start()
    await runners_on_board(stack, 2)
    first = await request_call(stack)
    assert (await stack.node.dispatcher.dispatch(first)).worker_id == busy.worker_id  # the refuser said no
    second = await request_call(stack)
    waiting = asyncio.create_task(stack.node.dispatcher.dispatch(second))

    async def queued_after_a_refusal():
        events = await call_events(stack, second)
        return "call.queued" in events and stack.node.dispatcher.queued_for(stack.project_id, "bot") == 1

    await eventually(queued_after_a_refusal)
    board = stack.node.board.entries.values()
    assert [e.free for e in board if e.worker_id == refuser.worker_id] == [0]  # published to every node
    await stack.node.local_runners.finish(busy.worker_id, busy.assigns[-1]["job_id"])  # a real slot frees
    placed = await asyncio.wait_for(waiting, 5)
    assert placed.worker_id == busy.worker_id
    assert (await call_events(stack, second)).count("call.runner_rejected") <= 1
    await busy.stop()
    await refuser.stop()


async def test_queue_timeout_ends_the_call_with_a_clear_reason(tmp_path, nats_url):
    stack = await start_stack(tmp_path / "n", nats_url, queue_timeout_s=0.3)
    try:
        call_id = await request_call(stack)
        placed = await stack.node.dispatcher.dispatch(call_id)
        assert placed.ended == "queue_timeout"
        state = (await stack.node.calls.read(call_id)).state
        assert state.phase == "ended" and state.ended.reason == "queue_timeout"
    finally:
        await stop_stack(stack)


async def test_two_nodes_never_overbook_a_runner(tmp_path, nats_url):
    a = await start_stack(tmp_path / "a", nats_url, queue_timeout_s=1.0)
    b = await start_stack(tmp_path / "b", nats_url, bootstrap=False, queue_timeout_s=1.0)
    try:
        await b.node.projector.wait_for(await a.node.store.last_seq())
        capacities = [3, 2, 4]
        runners = []
        for i, cap in enumerate(capacities):  # spread over both nodes' control sockets
            home = a if i % 2 == 0 else b
            rr = RawRunner(home.ws_url, a.api_key, capacity=cap)
            await rr.start()
            runners.append(rr)
        for stack in (a, b):
            await runners_on_board(stack, 3)
        b.project_id = a.project_id
        calls = [await request_call(a if i % 2 else b) for i in range(40)]
        results = await asyncio.gather(
            *(((a if i % 2 else b).node.dispatcher.dispatch(c)) for i, c in enumerate(calls))
        )
        placed = [r for r in results if r.worker_id]
        assert len(placed) == sum(capacities)  # every slot used, none twice
        for rr, cap in zip(runners, capacities, strict=True):
            accepted = [x for x in placed if x.worker_id == rr.worker_id]
            assert len(accepted) == cap == len(rr.assigns)
        assert all(r.ended == "queue_timeout" for r in results if not r.worker_id)
        for rr in runners:
            await rr.stop()
    finally:
        await stop_stack(b)
        await stop_stack(a)


async def test_an_offer_for_a_call_that_ended_meanwhile_gives_the_slot_back(stack):
    """The offer travels while its assignment is recorded; if the record is refused (the
    call is over), a runner that accepted gets its slot back."""
    from actors.errors import Rejected

    runner = RawRunner(stack.ws_url, stack.api_key, capacity=1)
    await runner.start()
    await runners_on_board(stack, 1)
    call_id = await request_call(stack)
    await stack.node.calls.execute(call_id, k.EndCall(project_id=stack.project_id, reason="hangup"))
    try:
        await stack.node.dispatcher.dispatch(call_id)
    except Rejected:
        pass
    else:
        raise AssertionError("an ended call must not be placed")
    link = stack.node.local_runners.links[runner.worker_id]

    async def slot_free():
        return len(runner.assigns) == 1 and link.slots.free == 1

    await eventually(slot_free)
    assert await call_events(stack, call_id) == ["call.requested", "call.ended"]
    await runner.stop()
