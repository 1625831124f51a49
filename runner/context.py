"""What an entrypoint receives for each call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.session import Session


@dataclass
class CallContext:
    call_id: str
    session_id: str
    agent_id: str
    #: ``web``, ``inbound`` or ``outbound``.
    direction: str
    user_number: str
    instructions: str
    data: dict[str, Any]
    session: Session
    #: The conversation so far when the call moved here from another runner.
    history: list[dict[str, str]] = field(default_factory=list)
    voice_profile_id: str = ""
    #: Who opens the call (the pipe's setting): "agent", or "user", when what the agent
    #: says before the caller's first turn is not spoken.
    first_speaker: str = "agent"
