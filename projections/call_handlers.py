"""How call and runner events change the read model (calls, their lines and
recordings, runners)."""

from __future__ import annotations

import aiosqlite
import msgspec

from bus_contracts import calls as k
from bus_contracts import runners as r
from bus_contracts.envelope import Recorded
from projections.handlers import _at, on


async def _status(db: aiosqlite.Connection, rec: Recorded, status: str, **columns: object) -> None:
    sets = "".join(f", {c} = ?" for c in columns)
    await db.execute(
        f"UPDATE calls SET status = ?{sets}, updated_at = ? WHERE call_id = ?",  # noqa: S608 - fixed column names
        (status, *columns.values(), _at(rec), rec.envelope.aggregate_id),
    )


async def _line(
    db: aiosqlite.Connection,
    rec: Recorded,
    role: str,
    turn: int,
    text: str,
    interrupted: bool = False,
    timings: k.TurnTimings | None = None,
) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO call_lines(call_id, seq, role, turn, text, interrupted, at, timings)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (rec.envelope.aggregate_id, rec.seq, role, turn, text, int(interrupted), _at(rec),
         msgspec.json.encode(timings).decode() if timings is not None else None),
    )  # fmt: skip


@on(k.CallRequested)
async def call_requested(db: aiosqlite.Connection, rec: Recorded) -> None:
    e = rec.event
    await db.execute(
        "INSERT OR REPLACE INTO calls(call_id, project_id, pipe_id, session_id, direction, agent_id, agent_endpoint,"
        " user_number, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?)",
        (rec.envelope.aggregate_id, e.project_id, e.pipe_id, e.session_id, e.direction, e.agent_id,
         e.agent_endpoint, e.user_number, _at(rec), _at(rec)),
    )  # fmt: skip


@on(k.CallQueued)
async def call_queued(db, rec):
    await _status(db, rec, "queued")


@on(k.RunnerAssigned)
async def runner_assigned(db, rec):
    await _status(db, rec, "offered", worker_id=rec.event.worker_id, attempts=rec.event.attempt)


@on(k.RunnerAccepted)
async def runner_accepted(db, rec):
    await _status(db, rec, "accepted", worker_id=rec.event.worker_id)


@on(k.RunnerRejected)
async def runner_rejected(db, rec):
    await _status(db, rec, "waiting", worker_id=None)


@on(k.BridgeConnected)
async def bridge_connected(db, rec):
    # The first runner's bridge marks when the call was connected; later ones (after a
    # failover or a hand-over) do not move it.
    await db.execute(
        "UPDATE calls SET status = 'connected', connected_at = COALESCE(connected_at, ?), updated_at = ?"
        " WHERE call_id = ?",
        (_at(rec), _at(rec), rec.envelope.aggregate_id),
    )


@on(k.CallRunnerLost)
async def call_runner_lost(db, rec):
    await _status(db, rec, "waiting", worker_id=None)


@on(k.HandedOver)
async def handed_over(db, rec):
    await _status(db, rec, "waiting", worker_id=None, agent_id=rec.event.agent_id)


@on(k.AgentSaid)
async def agent_said(db, rec):
    await _line(db, rec, "agent", 0, rec.event.text)


@on(k.UserSpoke)
async def user_spoke(db, rec):
    await _line(db, rec, "user", rec.event.turn, rec.event.text)
    await db.execute("UPDATE calls SET turns = ? WHERE call_id = ?", (rec.event.turn, rec.envelope.aggregate_id))


@on(k.AgentReplied)
async def agent_replied(db, rec):
    e = rec.event
    heard = e.heard_prefix if e.interrupted and e.heard_prefix is not None else e.text
    await _line(db, rec, "agent", e.turn, heard, e.interrupted, e.timings)


@on(k.ReplyInterrupted)
async def reply_interrupted(db, rec):
    await db.execute(
        "UPDATE call_lines SET text = ?, interrupted = 1 WHERE call_id = ? AND role = 'agent' AND turn = ?",
        (rec.event.heard_prefix, rec.envelope.aggregate_id, rec.event.turn),
    )


@on(k.AgentFailed)
async def agent_failed(db, rec):
    await _line(db, rec, "agent", rec.event.turn, rec.event.fallback)


@on(k.CallEnded)
async def call_ended(db, rec):
    await _status(db, rec, "ended", ended_at=_at(rec), end_reason=rec.event.reason)


@on(k.RecordingStored)
async def recording_stored(db, rec):
    # Project and pipe are the call's: the recording is listed and owned like its call.
    e = rec.event
    await db.execute(
        "INSERT OR REPLACE INTO recordings(recording_id, call_id, project_id, pipe_id, duration_s, size_bytes,"
        " sample_rate, channels, paused_s, paused_spans, created_at)"
        " SELECT ?, call_id, project_id, pipe_id, ?, ?, ?, ?, ?, ?, ? FROM calls WHERE call_id = ?",
        (e.recording_id, e.duration_s, e.size_bytes, e.sample_rate, e.channels, e.paused_s,
         msgspec.json.encode(e.paused_spans).decode(), _at(rec), rec.envelope.aggregate_id),
    )  # fmt: skip


@on(r.RunnerRegistered)
async def runner_registered(db: aiosqlite.Connection, rec: Recorded) -> None:
    e = rec.event
    await db.execute(
        "INSERT OR REPLACE INTO runners(runner_id, worker_id, project_id, agent_id, pool, max_concurrent, node_id,"
        " hostname, status, lost_reason, registered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'online', NULL, ?, ?)",
        (rec.envelope.aggregate_id, e.worker_id, e.project_id, e.agent_id, e.pool, e.max_concurrent, e.node_id,
         e.hostname, _at(rec), _at(rec)),
    )  # fmt: skip


async def _runner_status(db: aiosqlite.Connection, rec: Recorded, status: str, reason: str | None) -> None:
    await db.execute(
        "UPDATE runners SET status = ?, lost_reason = ?, updated_at = ? WHERE runner_id = ?",
        (status, reason, _at(rec), rec.envelope.aggregate_id),
    )


@on(r.RunnerLost)
async def runner_lost(db, rec):
    await _runner_status(db, rec, "lost", rec.event.reason)


@on(r.RunnerDeregistered)
async def runner_left(db, rec):
    await _runner_status(db, rec, "left", rec.event.reason)
