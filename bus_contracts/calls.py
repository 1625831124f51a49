"""The call aggregate's language: its events and commands.

A call is requested (web, inbound or outbound), waits for a runner, is offered to
runners one at a time (assigned -> accepted/rejected), gets its bridge, and then
records the conversation turn by turn until it ends. Audio never appears here.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from bus_contracts.commands import Command
from bus_contracts.envelope import Event, event
from bus_contracts.events import DEFAULT_BARGE_IN_S, FirstSpeaker

Direction = Literal["web", "inbound", "outbound"]
EndReason = Literal[
    "completed",  # the agent ended it
    "hangup",  # the caller / client left
    "queue_timeout",  # no runner had capacity in time
    "no_runner",  # no runner of the pool could take it after every attempt
    "max_duration",
    "transferred",
    "agent_error",
    "node_shutdown",
    "operator",  # POST /v1/calls/{id}/hangup
]


class TurnTimings(msgspec.Struct, frozen=True, kw_only=True):
    """Per-stage timings of one turn, in milliseconds; 0 when a stage did not run."""

    endpointing_ms: float = 0.0
    stt_ms: float = 0.0
    agent_ttft_ms: float = 0.0
    agent_total_ms: float = 0.0
    tts_ttfb_ms: float = 0.0


@event("call.requested", aggregate="call")
class CallRequested(Event, frozen=True, kw_only=True):
    project_id: str
    pipe_id: str
    session_id: str
    direction: Direction
    agent_id: str | None = None
    agent_endpoint: str | None = None
    voice_profile_id: str | None = None
    user_number: str | None = None
    number_id: str | None = None
    instructions: str | None = None
    data: dict[str, Any] = {}
    max_duration_s: int = 3600
    #: The node hosting the call's media and bridge.
    node_id: str = ""
    #: Who opens the call: "agent" (its greeting is spoken) or "user" (the agent's
    #: words before the caller's first turn are not).
    first_speaker: FirstSpeaker = "agent"
    #: Seconds of caller speech over the bot that stop it (the pipe's barge-in policy).
    barge_in_min_speech_s: float = DEFAULT_BARGE_IN_S
    #: The pipe records its calls: a voice session leaves a stereo WAV (see RecordingStored).
    recording: bool = False


@event("call.queued", aggregate="call")
class CallQueued(Event, frozen=True, kw_only=True):
    """No runner of the pool had a free slot."""

    reason: str = "no_capacity"


@event("call.runner_assigned", aggregate="call")
class RunnerAssigned(Event, frozen=True, kw_only=True):
    worker_id: str
    assign_id: str
    attempt: int
    deadline_ms: int


@event("call.runner_accepted", aggregate="call")
class RunnerAccepted(Event, frozen=True, kw_only=True):
    worker_id: str
    assign_id: str


@event("call.runner_rejected", aggregate="call")
class RunnerRejected(Event, frozen=True, kw_only=True):
    worker_id: str
    assign_id: str
    #: The runner's reason (``at_capacity``, ``agent_id_mismatch``, ...) or ``timeout``.
    reason: str


@event("call.bridge_connected", aggregate="call")
class BridgeConnected(Event, frozen=True, kw_only=True):
    worker_id: str


@event("call.runner_lost", aggregate="call")
class CallRunnerLost(Event, frozen=True, kw_only=True):
    """The runner serving the call died or its bridge dropped; the call goes back to waiting."""

    worker_id: str
    reason: str


@event("call.agent_said", aggregate="call")
class AgentSaid(Event, frozen=True, kw_only=True):
    """Something the agent spoke outside a reply (``say()``, a greeting)."""

    text: str


@event("call.user_spoke", aggregate="call")
class UserSpoke(Event, frozen=True, kw_only=True):
    turn: int
    text: str


@event("call.agent_replied", aggregate="call")
class AgentReplied(Event, frozen=True, kw_only=True):
    turn: int
    text: str
    interrupted: bool = False
    #: What the caller actually heard when interrupted.
    heard_prefix: str | None = None
    timings: TurnTimings = TurnTimings()


@event("call.reply_interrupted", aggregate="call")
class ReplyInterrupted(Event, frozen=True, kw_only=True):
    """The caller talked over a reply whose text had already ended but whose audio was
    still playing: the reply stands in the history as what the caller heard of it."""

    turn: int
    heard_prefix: str


@event("call.provider_skipped", aggregate="call")
class ProviderSkipped(Event, frozen=True, kw_only=True):
    """A speech provider of the call's voice profile could not serve it (no key, not
    installed, crashed); the next one in the profile's failover order took over."""

    kind: Literal["stt", "tts"]
    provider: str
    reason: str


@event("call.agent_error", aggregate="call")
class AgentFailed(Event, frozen=True, kw_only=True):
    """The agent could not answer a turn (an HTTP endpoint timed out, failed or
    answered nonsense); the caller heard ``fallback`` instead."""

    turn: int
    code: str
    message: str
    fallback: str


@event("call.transfer_requested", aggregate="call")
class TransferRequested(Event, frozen=True, kw_only=True):
    transfer_type: Literal["number", "agent", "human"]
    target: str
    mode: Literal["cold", "warm"] = "cold"
    announcement: str | None = None


@event("call.handed_over", aggregate="call")
class HandedOver(Event, frozen=True, kw_only=True):
    """The agent serving the call handed it to another agent's pool (a cold transfer
    or ``agent.dispatch``): its runner is released and the call waits for the new pool."""

    from_worker_id: str
    agent_id: str
    via: Literal["transfer", "dispatch"]
    #: What the handing agent passed on; the next runner finds it in ``data["handoff"]``.
    metadata: dict[str, Any] = {}


@event("call.end_requested", aggregate="call")
class EndRequested(Event, frozen=True, kw_only=True):
    reason: str
    by: Literal["agent", "user", "operator", "platform"]


@event("call.recording_stored", aggregate="call")
class RecordingStored(Event, frozen=True, kw_only=True):
    """The call's audio, caller left and agent right, is stored as a WAV file in the
    recordings bucket under ``recording_id``. Written after the audio stopped, so it
    may follow ``call.ended``. Paused spans are in the file, as silence."""

    recording_id: str
    duration_s: float
    size_bytes: int
    sample_rate: int
    channels: int
    #: Seconds of the file during which recording was paused (silent on both channels).
    paused_s: float = 0.0
    #: (start_s, end_s) of each pause, in seconds from the start of the file.
    paused_spans: tuple[tuple[float, float], ...] = ()


@event("call.ended", aggregate="call")
class CallEnded(Event, frozen=True, kw_only=True):
    reason: EndReason
    detail: str = ""


# --- commands ---


class RequestCall(Command, frozen=True, kw_only=True):
    pipe_id: str
    session_id: str
    direction: Direction
    agent_id: str | None = None
    agent_endpoint: str | None = None
    voice_profile_id: str | None = None
    user_number: str | None = None
    number_id: str | None = None
    instructions: str | None = None
    data: dict[str, Any] = {}
    max_duration_s: int = 3600
    node_id: str = ""
    first_speaker: FirstSpeaker = "agent"
    barge_in_min_speech_s: float = DEFAULT_BARGE_IN_S
    recording: bool = False


class QueueCall(Command, frozen=True, kw_only=True):
    reason: str = "no_capacity"


class AssignRunner(Command, frozen=True, kw_only=True):
    worker_id: str
    assign_id: str
    deadline_ms: int


class AcceptAssignment(Command, frozen=True, kw_only=True):
    worker_id: str
    assign_id: str


class RejectAssignment(Command, frozen=True, kw_only=True):
    worker_id: str
    assign_id: str
    reason: str


class ConnectBridge(Command, frozen=True, kw_only=True):
    worker_id: str


class LoseRunner(Command, frozen=True, kw_only=True):
    worker_id: str
    reason: str


class HandOver(Command, frozen=True, kw_only=True):
    worker_id: str
    agent_id: str
    via: Literal["transfer", "dispatch"]
    metadata: dict[str, Any] = {}


class RecordAgentSaid(Command, frozen=True, kw_only=True):
    #: 1 for the first utterance of the call, then 2, ...: a retried command is recognised.
    utterance: int
    text: str


class RecordUserTurn(Command, frozen=True, kw_only=True):
    #: 1 for the first turn, then 2, ...
    turn: int
    text: str


class RecordAgentReply(Command, frozen=True, kw_only=True):
    turn: int
    text: str
    interrupted: bool = False
    heard_prefix: str | None = None
    timings: TurnTimings = TurnTimings()


class RecordProviderSkip(Command, frozen=True, kw_only=True):
    kind: Literal["stt", "tts"]
    provider: str
    reason: str


class RecordInterruption(Command, frozen=True, kw_only=True):
    turn: int
    heard_prefix: str


class RecordAgentFailure(Command, frozen=True, kw_only=True):
    turn: int
    code: str
    message: str
    fallback: str


class RequestTransfer(Command, frozen=True, kw_only=True):
    transfer_type: Literal["number", "agent", "human"]
    target: str
    mode: Literal["cold", "warm"] = "cold"
    announcement: str | None = None


class RequestEnd(Command, frozen=True, kw_only=True):
    reason: str
    by: Literal["agent", "user", "operator", "platform"]


class AttachRecording(Command, frozen=True, kw_only=True):
    """The call's recording has been stored: put it on the call's record."""

    recording_id: str
    duration_s: float
    size_bytes: int
    sample_rate: int
    channels: int
    paused_s: float = 0.0
    paused_spans: tuple[tuple[float, float], ...] = ()


class EndCall(Command, frozen=True, kw_only=True):
    reason: EndReason
    detail: str = ""
