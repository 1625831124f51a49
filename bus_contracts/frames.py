"""Wire frames of the runner doors (PROTOCOLS.md): door 2, the control socket
(frames tagged by ``type``), and door 3, the per-call bridge (tagged by ``event``).

Frames we send must suit the published SDK's strict parser
(docs/published-sdk-protocol.md): no ``null`` where it expects a string, integer
metric fields, the language inside ``extra``, and no frame types it does not know.

Decoding never raises on what a peer may legitimately send: unknown fields are
ignored and an unknown tag decodes to :class:`UnknownFrame`, which the door
answers with an ``error`` frame. Only bytes that are not a JSON object at all
raise :class:`MalformedFrame`.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# --- door 2: control socket ----------------------------------------------------


class Capabilities(msgspec.Struct, kw_only=True):
    agent_id: str = ""
    max_concurrent: int = 1
    transport: str = "dial_out"
    kind: str = "brain"
    voice_profiles: list[str] = []
    hostname: str | None = None
    address: str | None = None
    region: str | None = None
    deployment: str | None = None
    #: Extra frames this runner understands (ours: ``pool.status``). The published
    #: SDK sends none and gets none: it drops the socket on unknown frame types.
    features: list[str] = []


class Register(msgspec.Struct, tag_field="type", tag="register", kw_only=True):
    worker_id: str
    pool: str = ""
    capabilities: Capabilities = msgspec.field(default_factory=Capabilities)


class Registered(msgspec.Struct, tag_field="type", tag="registered", kw_only=True):
    heartbeat_interval_s: int
    #: A dial-out runner treats its absence as fatal.
    transport_ack: str = "dial_out"


class Heartbeat(msgspec.Struct, tag_field="type", tag="heartbeat", kw_only=True):
    active_jobs: int = 0
    worker_id: str | None = None


class JobAssign(msgspec.Struct, tag_field="type", tag="job.assign", kw_only=True):
    job_id: str
    call_id: str
    agent_id: str
    bridge_url: str
    call_token: str
    assign_id: str
    deadline_ms: int = 2000
    metadata: dict[str, Any] = {}


class JobAck(msgspec.Struct, tag_field="type", tag="job.ack", kw_only=True):
    job_id: str
    assign_id: str | None = None
    accepted: bool
    reason: str | None = None


class JobCancel(msgspec.Struct, tag_field="type", tag="job.cancel", kw_only=True):
    job_id: str


class PoolStatus(msgspec.Struct, tag_field="type", tag="pool.status", kw_only=True):
    """Calls waiting for a free slot in the runner's pool, cluster-wide (feature ``pool.status``)."""

    agent_id: str
    queued: int


class ControlError(msgspec.Struct, tag_field="type", tag="error", kw_only=True):
    code: str
    message: str


# --- door 3: per-call bridge ---------------------------------------------------

PROTOCOL_VERSION = 2


class Hello(msgspec.Struct, tag_field="event", tag="hello", kw_only=True):
    protocol_version: int = PROTOCOL_VERSION
    supported_events: list[str] = []
    supported_verbs: list[str] = []


class HelloAck(msgspec.Struct, tag_field="event", tag="hello.ack", kw_only=True):
    protocol_version: int
    negotiated_events: list[str]
    negotiated_verbs: list[str]
    call_id: str
    session_id: str
    job_id: str
    room_id: str


class CallStarted(msgspec.Struct, tag_field="event", tag="call.started", kw_only=True):
    session_id: str
    job_id: str
    room_id: str
    metadata: dict[str, Any]
    voice_profile_id: str
    agent_id: str


class UserText(msgspec.Struct, tag_field="event", tag="user.text", kw_only=True):
    text: str
    is_final: bool = True
    turn_id: int = 0
    #: e.g. ``{"language": "en-US"}`` (the published SDK reads the language here).
    extra: dict[str, Any] = {}


class UserInterrupted(msgspec.Struct, tag_field="event", tag="user.interrupted", kw_only=True):
    turn_id: int = 0
    heard_prefix: str = ""


class State(msgspec.Struct, tag_field="event", tag="state", kw_only=True):
    state: Literal["idle", "listening", "thinking", "speaking", "interrupted"]
    turn_id: int = 0


class Metric(msgspec.Struct, tag_field="event", tag="metric", kw_only=True):
    # Integers: the published SDK refuses a fractional value here and ends the session.
    ttfa_ms: int | None = None
    asr_p95_ms: int | None = None
    tts_p95_ms: int | None = None
    turns: int = 0
    cost_usd_so_far: float = 0.0


class TurnMetrics(msgspec.Struct, tag_field="event", tag="turn.metrics", kw_only=True):
    call_id: str
    turn_id: int
    ttfa_ms: float | None = None
    asr_ms: float | None = None
    llm_ttft_ms: float | None = None
    tts_ttfb_ms: float | None = None
    llm_call_count: int = 0
    llm_total_ms: float | None = None


class BridgeError(msgspec.Struct, tag_field="event", tag="error", kw_only=True):
    severity: Literal["warn", "error", "fatal"]
    source: Literal["stt", "tts", "transport", "internal"]
    code: str
    message: str


class AgentTextDelta(msgspec.Struct, tag_field="event", tag="agent.text.delta", kw_only=True):
    text: str


class AgentTextEnd(msgspec.Struct, tag_field="event", tag="agent.text.end", kw_only=True):
    pass


class AgentSay(msgspec.Struct, tag_field="event", tag="agent.say", kw_only=True):
    text: str


class AgentTransfer(msgspec.Struct, tag_field="event", tag="agent.transfer", kw_only=True):
    transfer_type: Literal["number", "agent", "human"] = "human"
    target: str = ""
    mode: Literal["cold", "warm"] = "cold"
    announcement: str | None = None


class AgentEndCall(msgspec.Struct, tag_field="event", tag="agent.end_call", kw_only=True):
    reason: str = "completed"


class AgentDispatch(msgspec.Struct, tag_field="event", tag="agent.dispatch", kw_only=True):
    agent_id: str
    metadata: dict[str, Any] = {}


class AgentAddParticipant(msgspec.Struct, tag_field="event", tag="agent.add_participant", kw_only=True):
    participant_type: str
    config: dict[str, Any] = {}


class AgentRemoveParticipant(msgspec.Struct, tag_field="event", tag="agent.remove_participant", kw_only=True):
    participant_id: str


class AgentMerge(msgspec.Struct, tag_field="event", tag="agent.merge", kw_only=True):
    source_session_id: str


# The published SDK encodes two controls as say-text sentinels; they are never spoken.
FILLER_PREFIX = "__filler:"
RECORDING_PAUSE_PREFIX = "__recording_pause:"
RECORDING_RESUME = "__recording_resume"

RunnerControlFrame = Register | Heartbeat | JobAck
RunnerVerb = (
    Hello
    | AgentTextDelta
    | AgentTextEnd
    | AgentSay
    | AgentTransfer
    | AgentEndCall
    | AgentDispatch
    | AgentAddParticipant
    | AgentRemoveParticipant
    | AgentMerge
)
SERVER_EVENTS = ["user.text", "user.interrupted", "state", "metric", "turn.metrics", "error"]
RUNNER_VERBS = [
    "agent.text.delta",
    "agent.text.end",
    "agent.say",
    "agent.transfer",
    "agent.end_call",
    "agent.dispatch",
    "agent.add_participant",
    "agent.remove_participant",
    "agent.merge",
]


class UnknownFrame(msgspec.Struct):
    tag: str


class MalformedFrame(ValueError):
    pass


class _Tagged(msgspec.Struct):
    type: Any = None
    event: Any = None


_TAG_ONLY = msgspec.json.Decoder(_Tagged)
_CONTROL = msgspec.json.Decoder(RunnerControlFrame)
_VERBS = msgspec.json.Decoder(RunnerVerb)
_CONTROL_TAGS = {"register", "heartbeat", "job.ack"}
#: Conference control needs more than one call leg, which no call has yet.
NOT_OFFERED = frozenset({"agent.add_participant", "agent.remove_participant", "agent.merge"})
_VERB_TAGS = {"hello", *RUNNER_VERBS}
_encoder = msgspec.json.Encoder()


def _decode(raw: str | bytes, field: str, known: set[str], decoder: msgspec.json.Decoder) -> Any:
    try:
        head = _TAG_ONLY.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedFrame(f"not a JSON object: {exc}") from None
    tag = getattr(head, field)
    if not isinstance(tag, str):
        raise MalformedFrame(f"a frame needs a string {field!r} field")
    if tag not in known:
        return UnknownFrame(tag)
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise MalformedFrame(f"invalid {tag!r} frame: {exc}") from None


def decode_control(raw: str | bytes) -> RunnerControlFrame | UnknownFrame:
    """A frame a runner sent on the control socket."""
    return _decode(raw, "type", _CONTROL_TAGS, _CONTROL)


def decode_verb(raw: str | bytes) -> RunnerVerb | UnknownFrame:
    """A frame a runner sent on a call's bridge."""
    return _decode(raw, "event", _VERB_TAGS, _VERBS)


def encode(frame: msgspec.Struct) -> str:
    return _encoder.encode(frame).decode()
