"""The call aggregate: lifecycle, dispatch attempts and the conversation.

Phases: ``waiting`` (no runner; maybe queued) -> ``offered`` (a runner was sent
``job.assign``) -> ``accepted`` -> ``connected`` (its bridge is up) -> ``ended``.
A rejected or timed-out offer, or a lost runner, goes back to ``waiting``: the
conversation so far stays, so the next runner can pick it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from actors.decider import Decider
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import calls as k
from bus_contracts.commands import Command
from bus_contracts.envelope import Event

Phase = Literal["new", "waiting", "offered", "accepted", "connected", "ended"]


class Line(msgspec.Struct, frozen=True):
    """One line of the conversation so far."""

    role: Literal["user", "agent"]
    text: str
    turn: int = 0
    interrupted: bool = False


class CallState(msgspec.Struct, frozen=True, kw_only=True):
    phase: Phase = "new"
    request: k.CallRequested | None = None
    queued: bool = False
    worker_id: str | None = None
    assign_id: str | None = None
    attempts: int = 0
    #: Workers that refused or timed out since the call last waited with nobody offered.
    declined: tuple[str, ...] = ()
    turns: int = 0
    replied: int = 0
    utterances: int = 0
    history: tuple[Line, ...] = ()
    transfer: k.TransferRequested | None = None
    #: The pool serving the call now: the requested one until an agent hands it over.
    agent_id: str | None = None
    #: The hand-overs so far, oldest first.
    handoffs: tuple[k.HandedOver, ...] = ()
    #: (kind, provider) of speech providers that could not serve the call.
    skipped: tuple[tuple[str, str], ...] = ()
    end_requested: bool = False
    ended: k.CallEnded | None = None
    recording: k.RecordingStored | None = None

    @property
    def project_id(self) -> str:
        return self.request.project_id if self.request else ""


def initial() -> CallState:
    return CallState()


def evolve(state: CallState, event: Event) -> CallState:
    replace = msgspec.structs.replace
    match event:
        case k.CallRequested():
            return CallState(phase="waiting", request=event, agent_id=event.agent_id)
        case k.CallQueued():
            return replace(state, queued=True)
        case k.RunnerAssigned():
            return replace(
                state, phase="offered", worker_id=event.worker_id, assign_id=event.assign_id, attempts=event.attempt
            )
        case k.RunnerAccepted():
            return replace(state, phase="accepted", queued=False, declined=())
        case k.RunnerRejected():
            return replace(
                state, phase="waiting", worker_id=None, assign_id=None, declined=(*state.declined, event.worker_id)
            )
        case k.BridgeConnected():
            return replace(state, phase="connected")
        case k.CallRunnerLost():
            return replace(state, phase="waiting", worker_id=None, assign_id=None, declined=(event.worker_id,))
        case k.AgentSaid():
            return replace(state, utterances=state.utterances + 1, history=(*state.history, Line("agent", event.text)))
        case k.UserSpoke():
            return replace(state, turns=event.turn, history=(*state.history, Line("user", event.text, event.turn)))
        case k.AgentReplied():
            line = Line(
                "agent",
                event.heard_prefix if event.interrupted and event.heard_prefix is not None else event.text,
                event.turn,
                event.interrupted,
            )
            return replace(state, replied=event.turn, history=(*state.history, line))
        case k.ProviderSkipped():
            return replace(state, skipped=(*state.skipped, (event.kind, event.provider)))
        case k.ReplyInterrupted():
            history = list(state.history)
            for i in range(len(history) - 1, -1, -1):
                if history[i].role == "agent" and history[i].turn == event.turn:
                    history[i] = Line("agent", event.heard_prefix, event.turn, True)
                    break
            return replace(state, history=tuple(history))
        case k.AgentFailed():
            line = Line("agent", event.fallback, event.turn)
            return replace(state, replied=event.turn, history=(*state.history, line))
        case k.TransferRequested():
            return replace(state, transfer=event)
        case k.HandedOver():
            return replace(
                state,
                phase="waiting",
                worker_id=None,
                assign_id=None,
                declined=(),
                queued=False,
                agent_id=event.agent_id,
                handoffs=(*state.handoffs, event),
            )
        case k.EndRequested():
            return replace(state, end_requested=True)
        case k.CallEnded():
            return replace(state, phase="ended", ended=event, queued=False)
        case k.RecordingStored():
            return replace(state, recording=event)
    return state


def runner_metadata(state: CallState) -> dict[str, Any]:
    """What a runner is told of the call (``job.assign`` and ``call.started`` metadata).
    ``data`` carries, after a hand-over, what the handing agent passed on under
    ``handoff`` (plus whom it came from, and how)."""
    request = state.request
    assert request is not None
    data = dict(request.data)
    if state.handoffs:
        last = state.handoffs[-1]
        before = state.handoffs[-2].agent_id if len(state.handoffs) > 1 else request.agent_id
        data["handoff"] = {**last.metadata, "from_agent_id": before, "via": last.via}
    return {
        "data": data,
        "user_number": request.user_number or "",
        "direction": request.direction,
        "instructions": request.instructions or "",
        "agent_id": state.agent_id or "",
        "pipe_id": request.pipe_id,
        "first_speaker": request.first_speaker,
    }


def unanswered_turns(state: CallState) -> list[Line]:
    """The caller's turns no agent has answered: with no reply on record and said
    after the agent last spoke (an agent answering with ``say`` has answered them)."""
    spoke = max((i for i, line in enumerate(state.history) if line.role == "agent"), default=-1)
    return [line for line in state.history[spoke + 1 :] if line.role == "user" and line.turn > state.replied]


def _live(state: CallState, project_id: str) -> CallState:
    if state.request is None or state.project_id != project_id:
        raise NotFound("call not found")
    return state


def _not_ended(state: CallState, project_id: str) -> CallState:
    _live(state, project_id)
    if state.phase == "ended":
        raise Conflict("the call has ended")
    return state


def _attach_recording(command: k.AttachRecording, state: CallState) -> list[Event]:
    """A call's one recording; allowed after the end, because the audio stops after it."""
    assert state.request is not None
    if not state.request.recording:
        raise Invalid("the call's pipe does not record calls")
    if state.recording is not None:
        if state.recording.recording_id == command.recording_id:
            return []
        raise Conflict("the call already has its recording")
    if command.duration_s < 0 or command.size_bytes <= 0 or command.sample_rate <= 0 or command.channels not in (1, 2):
        raise Invalid("a recording has a duration, some bytes, a sample rate and one or two channels")
    if not 0 <= command.paused_s <= command.duration_s or any(
        not 0 <= start <= end <= command.duration_s for start, end in command.paused_spans
    ):
        raise Invalid("paused spans lie within the recording")
    return [
        k.RecordingStored(
            recording_id=command.recording_id,
            duration_s=command.duration_s,
            size_bytes=command.size_bytes,
            sample_rate=command.sample_rate,
            channels=command.channels,
            paused_s=command.paused_s,
            paused_spans=command.paused_spans,
        )
    ]


def decide(command: Command, state: CallState) -> Sequence[Event]:
    match command:
        case k.RequestCall():
            requested = k.CallRequested(**msgspec.structs.asdict(command))  # the same fields, by design
            if (command.agent_id is None) == (command.agent_endpoint is None):
                raise Invalid("a call is served by exactly one of an agent_id or an agent_endpoint")
            if state.request is not None:
                if state.request != requested:
                    raise Conflict("a call with this id already exists")
                return []
            return [requested]
        case k.QueueCall():
            _not_ended(state, command.project_id)
            if state.phase != "waiting":
                raise Conflict(f"only a waiting call can be queued (it is {state.phase})")
            return [] if state.queued else [k.CallQueued(reason=command.reason)]
        case k.AssignRunner():
            _not_ended(state, command.project_id)
            if state.phase == "offered" and state.assign_id == command.assign_id:
                return []
            if state.phase != "waiting":
                raise Conflict(f"the call is {state.phase}, not waiting for a runner")
            return [
                k.RunnerAssigned(
                    worker_id=command.worker_id,
                    assign_id=command.assign_id,
                    attempt=state.attempts + 1,
                    deadline_ms=command.deadline_ms,
                )
            ]
        case k.AcceptAssignment():
            _not_ended(state, command.project_id)
            if state.assign_id == command.assign_id and state.phase in ("accepted", "connected"):
                return []
            if state.phase != "offered" or state.assign_id != command.assign_id:
                raise Conflict("stale assignment: the call was not offered to this runner")
            return [k.RunnerAccepted(worker_id=command.worker_id, assign_id=command.assign_id)]
        case k.RejectAssignment():
            _not_ended(state, command.project_id)
            if state.phase != "offered" or state.assign_id != command.assign_id:
                if command.worker_id in state.declined and state.assign_id != command.assign_id:
                    return []  # already recorded
                raise Conflict("stale assignment: the call was not offered to this runner")
            return [k.RunnerRejected(worker_id=command.worker_id, assign_id=command.assign_id, reason=command.reason)]
        case k.ConnectBridge():
            _not_ended(state, command.project_id)
            if state.worker_id != command.worker_id or state.phase not in ("accepted", "connected"):
                raise Conflict("this runner was not accepted for the call")
            return [] if state.phase == "connected" else [k.BridgeConnected(worker_id=command.worker_id)]
        case k.LoseRunner():
            _live(state, command.project_id)
            if state.phase in ("offered", "accepted", "connected") and state.worker_id == command.worker_id:
                return [k.CallRunnerLost(worker_id=command.worker_id, reason=command.reason)]
            return []
        case k.RecordProviderSkip():
            _not_ended(state, command.project_id)
            if (command.kind, command.provider) in state.skipped:
                return []  # once per provider and call
            return [k.ProviderSkipped(kind=command.kind, provider=command.provider, reason=command.reason)]
        case k.RecordInterruption():
            _not_ended(state, command.project_id)
            if command.turn < 1 or command.turn > state.replied:
                raise Invalid(f"turn {command.turn} has no reply on record to interrupt")
            line = next((x for x in reversed(state.history) if x.role == "agent" and x.turn == command.turn), None)
            if line is None or line.interrupted:
                return []  # already cut (or answered by a fallback nobody heard in full)
            if not line.text.startswith(command.heard_prefix):
                raise Invalid("what was heard must be the start of the reply")
            return [k.ReplyInterrupted(turn=command.turn, heard_prefix=command.heard_prefix)]
        case k.HandOver():
            _not_ended(state, command.project_id)
            if state.agent_id is None:
                raise Invalid("this call is answered by an HTTP endpoint; there is no agent to hand it from")
            if not command.agent_id:
                raise Invalid("hand the call to which agent_id?")
            if state.worker_id != command.worker_id or state.phase not in ("accepted", "connected"):
                if state.handoffs and state.handoffs[-1].from_worker_id == command.worker_id:
                    return []  # already handed over
                raise Conflict("only the runner serving the call can hand it over")
            return [
                k.HandedOver(
                    from_worker_id=command.worker_id,
                    agent_id=command.agent_id,
                    via=command.via,
                    metadata=command.metadata,
                )
            ]
        case k.RecordAgentSaid():
            _not_ended(state, command.project_id)
            if command.utterance <= state.utterances:
                return []
            if command.utterance != state.utterances + 1:
                raise Invalid(f"utterance {command.utterance} out of order (next is {state.utterances + 1})")
            return [k.AgentSaid(text=command.text)]
        case k.RecordUserTurn():
            _not_ended(state, command.project_id)
            if command.turn <= state.turns:
                return []
            if command.turn != state.turns + 1:
                raise Invalid(f"turn {command.turn} out of order (next is {state.turns + 1})")
            return [k.UserSpoke(turn=command.turn, text=command.text)]
        case k.RecordAgentReply():
            _not_ended(state, command.project_id)
            if command.turn <= state.replied:
                return []
            if command.turn > state.turns:
                raise Invalid(f"a reply to turn {command.turn}, which the caller has not spoken yet")
            return [
                k.AgentReplied(
                    turn=command.turn,
                    text=command.text,
                    interrupted=command.interrupted,
                    heard_prefix=command.heard_prefix,
                    timings=command.timings,
                )
            ]
        case k.RecordAgentFailure():
            _not_ended(state, command.project_id)
            if command.turn <= state.replied:
                return []
            if command.turn > state.turns:
                raise Invalid(f"a failure on turn {command.turn}, which the caller has not spoken yet")
            return [
                k.AgentFailed(turn=command.turn, code=command.code, message=command.message, fallback=command.fallback)
            ]
        case k.RequestTransfer():
            _not_ended(state, command.project_id)
            transfer = k.TransferRequested(
                transfer_type=command.transfer_type,
                target=command.target,
                mode=command.mode,
                announcement=command.announcement,
            )
            return [] if state.transfer == transfer else [transfer]
        case k.RequestEnd():
            _not_ended(state, command.project_id)
            return [] if state.end_requested else [k.EndRequested(reason=command.reason, by=command.by)]
        case k.AttachRecording():
            return _attach_recording(command, _live(state, command.project_id))
        case k.EndCall():
            _live(state, command.project_id)
            if state.phase == "ended":
                return []
            return [k.CallEnded(reason=command.reason, detail=command.detail)]
    raise TypeError(f"call cannot handle {type(command).__name__}")


DECIDER = Decider("call", initial, evolve, decide)
