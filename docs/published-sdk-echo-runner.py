"""Minimal echo agent for the PUBLISHED Unpod Python SDK (`unpod` 0.5.0).

Uses only the SDK's public API (AgentRunner, CallContext) plus a tiny
user-written dialog brain. The brain satisfies the SDK's DialogAdapter
protocol structurally (it only needs `turn`, `stream`, `assist`), so no SDK
adapter class is needed.

Run (Python >= 3.12, `pip install unpod==0.5.0`):

    export UNPOD_ORCHESTRATOR_URL=ws://127.0.0.1:8000   # or UNPOD_BASE_URL=http://127.0.0.1:8000
    export UNPOD_PLATFORM_TOKEN=<credential>             # sent as "Authorization: Token <credential>"
    export UNPOD_ORG_HANDLE=<org>                        # sent as "Org-Handle: <org>" (required by the SDK)
    export UNPOD_AGENT_ID=echo-agent                     # must equal the pipe's agent_id
    python example_runner.py

The runner connects to  <base>/v1/internal/workers, registers, waits for
job.assign, dials the bridge_url (?token=<call_token>), and for every
`user.text` streams back "You said: <text>" as agent.text.delta frames
followed by one agent.text.end. Saying "bye" ends the call
(agent.end_call reason="completed").
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

from unpod import AgentRunner, CallContext


class EchoBrain:
    """Echo dialog brain. Session.run() calls `stream(text, language=...)`."""

    def __init__(self) -> None:
        self._done = False
        self.notes: list[str] = []  # instructions the SDK injects via assist()

    async def turn(self, text: str, context: dict | None = None) -> str:
        return f"You said: {text}"

    async def stream(
        self,
        text: str,
        context: dict | None = None,
        language: str | None = None,
    ) -> AsyncIterator[str]:
        if text.strip().lower().rstrip(".!") in ("bye", "goodbye"):
            self._done = True
            yield "Goodbye!"
            return
        reply = await self.turn(text, context)
        # Yield word by word: each chunk becomes one agent.text.delta frame.
        words = reply.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "

    def assist(self, text: str) -> None:
        # The SDK calls this after a barge-in (user.interrupted).
        self.notes.append(text)

    @property
    def is_complete(self) -> bool:
        # Checked by Session.run() after each turn; True -> session.end("completed").
        return self._done


async def entrypoint(ctx: CallContext) -> None:
    log = logging.getLogger("echo")
    log.info(
        "call %s agent=%s direction=%s user=%s data=%s",
        ctx.call_id,
        ctx.agent_id,
        ctx.direction,
        ctx.user_number,
        ctx.data,
    )
    ctx.session.dialog_machine = EchoBrain()

    @ctx.session.on("user_turn")
    async def _on_user(text: str) -> None:
        log.info("user: %s", text)

    @ctx.session.on("agent_turn")
    async def _on_agent(text: str) -> None:
        log.info("agent: %s", text)

    @ctx.session.on("call_end")
    async def _on_end(outcome: str) -> None:
        log.info("session ended: %s", outcome)

    await ctx.session.say("Hello! I will repeat whatever you say.")
    await ctx.session.run()  # returns when the bridge closes / error / is_complete


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s | %(message)s",
    )
    runner = AgentRunner(
        entrypoint=entrypoint,
        agent_id=os.environ.get("UNPOD_AGENT_ID", "echo-agent"),
        max_sessions=int(os.environ.get("UNPOD_MAX_SESSIONS", "10")),
        # base_url / platform_token / org_handle come from the environment:
        # UNPOD_ORCHESTRATOR_URL (or UNPOD_BASE_URL), UNPOD_PLATFORM_TOKEN,
        # UNPOD_ORG_HANDLE.
    )
    runner.start()  # blocking: asyncio.run(runner.run())


if __name__ == "__main__":
    main()
