from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from actors.errors import NotFound
from api.controllers.recordings import RecordingRef, recording_ref
from api.deps import NodeDep, PrincipalDep, ReadsDep
from api.errors import READ, READ_ONE, responses
from bus_contracts.calls import TurnTimings

CallStatus = Literal["waiting", "queued", "offered", "accepted", "connected", "ended"]


class Call(msgspec.Struct, kw_only=True):
    call_id: str
    session_id: str
    pipe_id: str
    direction: str
    agent_id: str | None
    agent_endpoint: str | None
    user_number: str | None
    status: CallStatus
    worker_id: str | None
    turns: int
    attempts: int
    created_at: str
    connected_at: str | None
    ended_at: str | None
    end_reason: str | None


class CallMetrics(msgspec.Struct, kw_only=True):
    """Measured on the node per turn (AgentReplied timings); p95 in milliseconds, 0 when
    the stage never ran (a text call has no speech stages)."""

    turns: int
    duration_s: float
    #: User turn final -> the agent's first token.
    llm_p95_ms: float
    #: User turn final -> the agent's reply complete.
    reply_p95_ms: float
    stt_p95_ms: float
    tts_p95_ms: float


class CallDetail(Call, kw_only=True):
    metrics: CallMetrics
    #: The call's recording, once stored (its pipe records, and the call had audio).
    recording: RecordingRef | None


class CallList(msgspec.Struct):
    data: list[Call]


class TranscriptLine(msgspec.Struct, kw_only=True):
    role: Literal["user", "agent"]
    #: 0 for things the agent said outside a reply (greetings, say()).
    turn: int
    text: str
    #: The agent was cut off; ``text`` is what the caller heard.
    interrupted: bool
    at: str


class Transcript(msgspec.Struct, kw_only=True):
    call_id: str
    lines: list[TranscriptLine]


class CallEvent(msgspec.Struct, kw_only=True):
    seq: int
    type: str
    occurred_at: str
    data: dict[str, Any]
    trace: dict[str, str]


class CallEvents(msgspec.Struct, kw_only=True):
    call_id: str
    data: list[CallEvent]


class Runner(msgspec.Struct, kw_only=True):
    worker_id: str
    agent_id: str
    pool: str
    status: Literal["online", "lost", "left"]
    capacity: int
    #: Calls running or being offered right now (0 unless online).
    load: int
    draining: bool
    hostname: str | None
    node_id: str
    registered_at: str
    lost_reason: str | None


class RunnerList(msgspec.Struct, kw_only=True):
    data: list[Runner]
    #: Calls waiting for a free runner slot, per agent_id (on this node).
    queued: dict[str, int]


def _call(row: dict[str, Any]) -> Call:
    return Call(**{f: row[f] for f in Call.__struct_fields__})


def _p95(values: list[float]) -> float:
    ordered = sorted(v for v in values if v > 0)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3) if ordered else 0.0


def _seconds(since: str, until: str | None) -> float:
    end = datetime.fromisoformat(until) if until else datetime.now(UTC)
    return round(max(0.0, (end - datetime.fromisoformat(since)).total_seconds()), 3)


_timings = msgspec.json.Decoder(TurnTimings)


async def _own(reads, principal, call_id: str) -> dict[str, Any]:
    row = await reads.call(principal.project_id, call_id)
    if row is None:
        raise NotFound("call not found")
    return row


class CallController(Controller):
    path = "/v1/calls"
    security = [{"BearerAuth": []}]
    tags = ["calls"]

    @get(summary="List the project's calls, newest first", responses=responses(400, 401))
    async def list_calls(
        self,
        principal: PrincipalDep,
        reads: ReadsDep,
        status: FromQuery[CallStatus | None] = None,
        pipe_id: Annotated[str | None, QueryParameter(max_length=128)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> CallList:
        rows = await reads.calls(principal.project_id, status=status, pipe_id=pipe_id, limit=limit)
        return CallList(data=[_call(r) for r in rows])

    @get("/{call_id:str}", summary="Get a call, with its measured turn timings and its recording", responses=READ_ONE)
    async def get_call(self, principal: PrincipalDep, call_id: FromPath[str], reads: ReadsDep) -> CallDetail:
        row = await _own(reads, principal, call_id)
        timed = [_timings.decode(t) for t in await reads.reply_timings(call_id)]
        metrics = CallMetrics(
            turns=row["turns"],
            duration_s=_seconds(row["connected_at"] or row["created_at"], row["ended_at"]),
            llm_p95_ms=_p95([t.agent_ttft_ms for t in timed]),
            reply_p95_ms=_p95([t.agent_total_ms for t in timed]),
            stt_p95_ms=_p95([t.stt_ms for t in timed]),
            tts_p95_ms=_p95([t.tts_ttfb_ms for t in timed]),
        )
        recorded = await reads.recordings(principal.project_id, call_id=call_id, limit=1)
        recording = recording_ref(recorded[0]) if recorded else None
        return CallDetail(**msgspec.structs.asdict(_call(row)), metrics=metrics, recording=recording)

    @get("/{call_id:str}/transcript", summary="What was said, turn by turn", responses=READ_ONE)
    async def transcript(self, principal: PrincipalDep, call_id: FromPath[str], reads: ReadsDep) -> Transcript:
        await _own(reads, principal, call_id)
        lines = [
            TranscriptLine(**{**line, "interrupted": bool(line["interrupted"])})
            for line in await reads.call_lines(call_id)
        ]
        return Transcript(call_id=call_id, lines=lines)

    @get(
        "/{call_id:str}/events",
        summary="The call's events, straight from the event log (audit, replay)",
        responses=READ_ONE,
    )
    async def events(
        self, principal: PrincipalDep, call_id: FromPath[str], reads: ReadsDep, node: NodeDep
    ) -> CallEvents:
        await _own(reads, principal, call_id)
        records = await node.store.read_subject("call", call_id)
        data = [
            CallEvent(
                seq=r.seq,
                type=r.envelope.type,
                occurred_at=r.envelope.occurred_at.isoformat(),
                data=msgspec.json.decode(r.envelope.data),
                trace=dict(r.envelope.trace),
            )
            for r in records
        ]
        return CallEvents(call_id=call_id, data=data)

    @post("/{call_id:str}/hangup", status_code=200, summary="End a live call", responses=responses(401, 404, 503))
    async def hangup(self, principal: PrincipalDep, call_id: FromPath[str], reads: ReadsDep, node: NodeDep) -> Call:
        await _own(reads, principal, call_id)
        await node.hangup(call_id, "operator")
        await node.caught_up(await node.store.last_seq())
        return _call(await _own(reads, principal, call_id))


class RunnerController(Controller):
    path = "/v1/runners"
    security = [{"BearerAuth": []}]
    tags = ["runners"]

    @get(summary="AgentRunner workers with capacity and live load", responses=READ)
    async def list_runners(self, principal: PrincipalDep, reads: ReadsDep, node: NodeDep) -> RunnerList:
        live = {e.worker_id: e for e in node.board.entries.values() if e.project_id == principal.project_id}
        now = time.time()
        out = []
        for row in await reads.runners(principal.project_id):
            entry = live.get(row["worker_id"])
            fresh = (
                entry is not None and now - entry.updated_at < node.board.stale_after_s and row["status"] == "online"
            )
            out.append(
                Runner(
                    worker_id=row["worker_id"],
                    agent_id=row["agent_id"],
                    pool=row["pool"],
                    status=row["status"],
                    capacity=row["max_concurrent"],
                    load=entry.load if fresh else 0,
                    draining=entry.draining if fresh else False,
                    hostname=row["hostname"],
                    node_id=row["node_id"],
                    registered_at=row["registered_at"],
                    lost_reason=row["lost_reason"],
                )
            )
        queued: dict[str, int] = {}
        for project_id, agent_id in node.dispatcher.queued.values():
            if project_id == principal.project_id:
                queued[agent_id] = queued.get(agent_id, 0) + 1
        return RunnerList(data=out, queued=queued)
