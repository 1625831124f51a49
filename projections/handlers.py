"""How each event changes the read model tables. One function per event type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite
import msgspec

from bus_contracts import events as e
from bus_contracts.envelope import Recorded

Handler = Callable[[aiosqlite.Connection, Recorded], Awaitable[None]]
HANDLERS: dict[type, Handler] = {}
_json = msgspec.json.encode


def on(event_type: type):
    def register(fn: Handler) -> Handler:
        HANDLERS[event_type] = fn
        return fn

    return register


def _at(rec: Recorded) -> str:
    return rec.envelope.occurred_at.isoformat()


@on(e.ProjectCreated)
async def project_created(db: aiosqlite.Connection, rec: Recorded) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO projects(project_id, name, created_at) VALUES (?, ?, ?)",
        (rec.envelope.aggregate_id, rec.event.name, _at(rec)),
    )


@on(e.ApiKeyIssued)
async def key_issued(db: aiosqlite.Connection, rec: Recorded) -> None:
    ev = rec.event
    await db.execute(
        "INSERT OR REPLACE INTO api_keys(key_id, project_id, name, key_hash, prefix, revoked, created_at)"
        " VALUES (?, ?, ?, ?, ?, 0, ?)",
        (rec.envelope.aggregate_id, ev.project_id, ev.name, ev.key_hash, ev.prefix, _at(rec)),
    )


@on(e.ApiKeyRevoked)
async def key_revoked(db: aiosqlite.Connection, rec: Recorded) -> None:
    await db.execute(
        "UPDATE api_keys SET revoked = 1, revoked_at = ? WHERE key_id = ?", (_at(rec), rec.envelope.aggregate_id)
    )


@on(e.PipeCreated)
async def pipe_created(db: aiosqlite.Connection, rec: Recorded) -> None:
    cfg = rec.event.config
    await db.execute(
        "INSERT OR REPLACE INTO pipes(pipe_id, project_id, name, voice_profile_id, agent_id, agent_endpoint,"
        " recording, max_call_duration_s, first_speaker, barge_in_min_speech_s, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rec.envelope.aggregate_id,
            rec.event.project_id,
            cfg.name,
            cfg.voice_profile_id,
            cfg.agent_id,
            cfg.agent_endpoint,
            int(cfg.recording),
            cfg.max_call_duration_s,
            cfg.first_speaker,
            cfg.barge_in_min_speech_s,
            _at(rec),
            _at(rec),
        ),
    )


_PIPE_COLUMNS = (
    "name",
    "voice_profile_id",
    "agent_id",
    "agent_endpoint",
    "recording",
    "max_call_duration_s",
    "first_speaker",
    "barge_in_min_speech_s",
)


@on(e.PipeUpdated)
async def pipe_updated(db: aiosqlite.Connection, rec: Recorded) -> None:
    changes = {c: getattr(rec.event, c) for c in _PIPE_COLUMNS if getattr(rec.event, c) is not msgspec.UNSET}
    if not changes:  # only fields this version does not know
        return
    if "recording" in changes:
        changes["recording"] = int(changes["recording"])
    sets = ", ".join(f"{c} = ?" for c in changes)
    await db.execute(
        f"UPDATE pipes SET {sets}, updated_at = ? WHERE pipe_id = ?",  # noqa: S608 - columns from a fixed list
        (*changes.values(), _at(rec), rec.envelope.aggregate_id),
    )


@on(e.PipeDeleted)
async def pipe_deleted(db: aiosqlite.Connection, rec: Recorded) -> None:
    await db.execute("DELETE FROM pipes WHERE pipe_id = ?", (rec.envelope.aggregate_id,))


@on(e.NumberAdded)
async def number_added(db: aiosqlite.Connection, rec: Recorded) -> None:
    ev = rec.event
    await db.execute(
        "INSERT OR REPLACE INTO numbers(number_id, project_id, number, source, trunk_id, country, capabilities,"
        " pipe_id, active_calls, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, 'available', ?, ?)",
        (
            rec.envelope.aggregate_id,
            ev.project_id,
            ev.number,
            ev.source,
            ev.trunk_id,
            ev.country,
            _json(list(ev.capabilities)).decode(),
            _at(rec),
            _at(rec),
        ),
    )


async def _number_status(db: aiosqlite.Connection, rec: Recorded, sql: str, *args: object) -> None:
    await db.execute(
        f"UPDATE numbers SET {sql}, updated_at = ? WHERE number_id = ?", (*args, _at(rec), rec.envelope.aggregate_id)
    )  # noqa: S608
    await db.execute(
        "UPDATE numbers SET status = CASE WHEN active_calls > 0 THEN 'in_call'"
        " WHEN pipe_id IS NOT NULL THEN 'assigned' ELSE 'available' END WHERE number_id = ?",
        (rec.envelope.aggregate_id,),
    )


@on(e.NumberAttached)
async def number_attached(db: aiosqlite.Connection, rec: Recorded) -> None:
    await _number_status(db, rec, "pipe_id = ?", rec.event.pipe_id)


@on(e.NumberDetached)
async def number_detached(db: aiosqlite.Connection, rec: Recorded) -> None:
    await _number_status(db, rec, "pipe_id = NULL")


@on(e.NumberCallStarted)
async def number_call_started(db: aiosqlite.Connection, rec: Recorded) -> None:
    await _number_status(db, rec, "active_calls = active_calls + 1")


@on(e.NumberCallEnded)
async def number_call_ended(db: aiosqlite.Connection, rec: Recorded) -> None:
    await _number_status(db, rec, "active_calls = MAX(active_calls - 1, 0)")


@on(e.NumberReleased)
async def number_released(db: aiosqlite.Connection, rec: Recorded) -> None:
    await db.execute("DELETE FROM numbers WHERE number_id = ?", (rec.envelope.aggregate_id,))


@on(e.TrunkRegistered)
async def trunk_registered(db: aiosqlite.Connection, rec: Recorded) -> None:
    ev = rec.event
    config = ev.sip if ev.type == "sip" else ev.provider
    await db.execute(
        "INSERT OR REPLACE INTO trunks(trunk_id, project_id, name, type, config, numbers, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rec.envelope.aggregate_id,
            ev.project_id,
            ev.name,
            ev.type,
            _json(config).decode(),
            _json(list(ev.numbers)).decode(),
            _at(rec),
            _at(rec),
        ),
    )


@on(e.TrunkDeleted)
async def trunk_deleted(db: aiosqlite.Connection, rec: Recorded) -> None:
    await db.execute("DELETE FROM trunks WHERE trunk_id = ?", (rec.envelope.aggregate_id,))
