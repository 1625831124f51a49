"""Transfers and hand-overs with real runners: a cold transfer to another agent's pool
(history and unanswered turns travel, the first runner's session ends, its slot frees),
``agent.dispatch`` with metadata, and transfers that need a phone leg refused with a
warning while the call goes on."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import eventually
from tests.raw_runner import EchoBridge, RawRunner, bridging
from tests.test_runner_sdk import on_board, open_call
from unpod import AgentRunner, CallContext


class Scripted:
    """A dialog machine that answers from a table, else echoes."""

    def __init__(self, name: str, answers: dict[str, str] | None = None) -> None:
        self.name = name
        self.answers = answers or {}

    async def stream(self, text: str):
        yield self.answers.get(text, f"{self.name} heard: {text}")


async def test_a_cold_transfer_moves_the_call_with_its_history_to_the_other_agent(stack):
    seen: dict[str, list] = {"sales_outcome": [], "billing_ctx": [], "errors": []}

    async def sales(ctx: CallContext) -> None:
        ctx.session.dialog_machine = Scripted("sales")

        @ctx.session.on("user_turn")
        async def _turn(text: str) -> None:
            if text == "my bill is wrong":
                await ctx.session.transfer_to_agent("billing", announcement="Let me get billing for you.")
            if text == "a human please":
                await ctx.session.transfer_to_human("tier-2")

        ctx.session.on("error", lambda code, *_: seen["errors"].append(code))
        seen["sales_outcome"].append(await ctx.session.run())

    async def billing(ctx: CallContext) -> None:
        seen["billing_ctx"].append(ctx)
        ctx.session.dialog_machine = Scripted("billing")
        await ctx.session.run()

    runners = [
        AgentRunner(sales, agent_id="sales", max_sessions=2, api_key=stack.api_key, base_url=stack.url),
        AgentRunner(billing, agent_id="billing", max_sessions=2, api_key=stack.api_key, base_url=stack.url),
    ]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    await on_board(stack, "sales")
    await on_board(stack, "billing")
    ws, client = await open_call(stack, "sales", {"account": "A-1"})
    call_id = (await client.next("session.started"))["call_id"]
    await client.state("listening")

    await client.say("a human please")  # no phone leg: refused, the call stays with sales
    assert (await client.next("agent.reply"))["text"] == "sales heard: a human please"
    assert seen["errors"] == []  # no error frame: the published SDK would end its session on one

    await client.say("my bill is wrong")
    assert (await client.next("agent.say"))["text"] == "Let me get billing for you."
    assert (await client.next("transfer"))["target"] == "billing"
    await client.state("listening")  # billing's runner is on the call
    # The turn that asked for the transfer is answered by billing, not lost.
    reply = await client.next("agent.reply")
    assert (reply["turn"], reply["text"]) == (2, "billing heard: my bill is wrong")
    await client.say("thanks")
    reply = await client.next("agent.reply")
    assert (reply["turn"], reply["text"]) == (3, "billing heard: thanks")

    (ctx,) = seen["billing_ctx"]
    assert ctx.agent_id == "billing" and ctx.call_id == call_id
    assert ctx.data == {"account": "A-1", "handoff": {"from_agent_id": "sales", "via": "transfer"}}
    assert [line["text"] for line in ctx.history] == [
        "a human please",
        "sales heard: a human please",
        "Let me get billing for you.",
    ]
    assert seen["sales_outcome"] == ["transferred"]

    async def sales_slot_free():
        return runners[0].stats().in_flight == 0 and runners[1].stats().in_flight == 1

    await eventually(sales_slot_free)
    await ws.send(json.dumps({"type": "hangup"}))
    await client.next("session.ended")
    await ws.close()
    records = await stack.node.store.read_subject("call", call_id)
    kinds = [r.envelope.type for r in records]
    assert kinds.count("call.transfer_requested") == 2 and kinds.count("call.handed_over") == 1
    handed = next(r.event for r in records if r.envelope.type == "call.handed_over")
    assert (handed.agent_id, handed.via) == ("billing", "transfer")
    replies = [(r.event.turn, r.event.text) for r in records if r.envelope.type == "call.agent_replied"]
    assert replies == [
        (1, "sales heard: a human please"),
        (2, "billing heard: my bill is wrong"),
        (3, "billing heard: thanks"),
    ]
    async with stack.http() as http:

        async def projected():
            call = (await http.get(f"/v1/calls/{call_id}")).json()
            return call if call["status"] == "ended" else None

        assert (await eventually(projected))["agent_id"] == "billing"
    for r in runners:
        await r.shutdown()
    await asyncio.gather(*tasks)


async def test_agent_dispatch_hands_the_call_over_with_its_metadata(stack):
    first_bridges: list[EchoBridge] = []
    next_bridges: list[EchoBridge] = []

    first = RawRunner(stack.ws_url, stack.api_key, agent_id="triage", answer=bridging(first_bridges))
    nxt = RawRunner(stack.ws_url, stack.api_key, agent_id="claims", answer=bridging(next_bridges))
    await first.start()
    await nxt.start()
    await on_board(stack, "claims")
    ws, client = await open_call(stack, "triage")
    await client.state("listening")
    await first_bridges[0].send({"event": "agent.dispatch", "agent_id": "claims", "metadata": {"claim": "C-9"}})
    assert await first_bridges[0].wait_closed() == 1000  # a cold hand-over ends the first session
    await client.state("listening")
    assert next_bridges[0].assign["agent_id"] == "claims"
    assert next_bridges[0].call_started["agent_id"] == "claims"
    handoff = next_bridges[0].call_started["metadata"]["data"]["handoff"]
    assert handoff == {"claim": "C-9", "from_agent_id": "triage", "via": "dispatch"}
    await client.say("hello")
    assert (await client.next("agent.reply"))["text"] == "echo: hello"
    ack = next_bridges[0].hello_ack
    assert "agent.dispatch" in ack["negotiated_verbs"] and "agent.merge" not in ack["negotiated_verbs"]
    await ws.close()
    await first.stop()
    await nxt.stop()
