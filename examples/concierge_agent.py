"""A small, working agent: greets, answers a few questions, remembers your name,
and hangs up when you say goodbye. No LLM needed (swap in your own brain by
assigning anything with an async ``stream(text)`` to ``ctx.session.dialog_machine``).

    UNPOD_API_KEY=... UNPOD_BASE_URL=http://127.0.0.1:8700 python examples/concierge_agent.py

``unpod up --demo`` starts it for you, with a pipe ``Demo concierge`` to talk to.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from unpod import AgentRunner, CallContext

AGENT_ID = "demo-concierge"


class Concierge:
    model = "rules-v1"

    def __init__(self) -> None:
        self.name: str | None = None
        self.is_complete = False

    async def stream(self, text: str) -> AsyncIterator[str]:
        said = text.strip().lower()
        if m := re.search(r"\bmy name is (\w+)", said):
            self.name = m.group(1).capitalize()
            reply = f"Nice to meet you, {self.name}. How can I help?"
        elif any(w in said for w in ("bye", "goodbye", "that's all")):
            self.is_complete = True
            reply = f"Goodbye{', ' + self.name if self.name else ''}! Thanks for calling."
        elif "hours" in said or "open" in said:
            reply = "We are open nine to five, Monday to Friday."
        elif "time" in said:
            from datetime import datetime

            reply = f"It is {datetime.now():%H:%M} here."
        elif "name" in said and self.name:
            reply = f"You told me your name is {self.name}."
        else:
            reply = f"You said: {text.strip()}. Ask me about our opening hours, or say goodbye."
        for word in reply.split(" "):  # stream it, as an LLM would
            yield word + " "


async def handle_call(ctx: CallContext) -> None:
    ctx.session.dialog_machine = Concierge()
    await ctx.session.set_filler("One moment please.")
    if not ctx.history:  # a call that moved here from another runner has already been greeted
        await ctx.session.say("Hello! I'm the demo concierge. What's your name?")
    await ctx.session.run()


def main() -> None:
    AgentRunner(entrypoint=handle_call, agent_id=AGENT_ID, max_sessions=20).start()


if __name__ == "__main__":
    main()
