"""Queries against the read model. A separate read-only connection: WAL lets
reads run while the projector writes. Every query is scoped to a project."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

Row = dict[str, Any]
_JSON_COLUMNS = {"capabilities", "config", "numbers", "paused_spans"}


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    row = {}
    for (name, *_), value in zip(cursor.description, values, strict=True):
        row[name] = json.loads(value) if name in _JSON_COLUMNS and value is not None else value
    return row


class ReadModel:
    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._db: aiosqlite.Connection | None = None

    async def start(self) -> None:
        # The projector creates the schema before this opens (read-only) connection.
        self._db = await aiosqlite.connect(f"file:{self.db_path}?mode=ro", uri=True)
        self._db.row_factory = _row

    async def stop(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _all(self, sql: str, *args: Any) -> list[Row]:
        assert self._db is not None
        async with self._db.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, *args: Any) -> Row | None:
        rows = await self._all(sql, *args)
        return rows[0] if rows else None

    # --- keys and projects ---

    async def api_key(self, key_id: str) -> Row | None:
        return await self._one("SELECT * FROM api_keys WHERE key_id = ?", key_id)

    async def api_keys(self, project_id: str) -> list[Row]:
        return await self._all(
            "SELECT key_id, project_id, name, prefix, revoked, created_at, revoked_at FROM api_keys"
            " WHERE project_id = ? ORDER BY created_at, key_id",
            project_id,
        )

    # --- pipes ---

    async def pipes(self, project_id: str) -> list[Row]:
        rows = await self._all("SELECT * FROM pipes WHERE project_id = ? ORDER BY created_at, pipe_id", project_id)
        attached = await self._all(
            "SELECT number_id, pipe_id FROM numbers WHERE project_id = ? AND pipe_id IS NOT NULL ORDER BY number",
            project_id,
        )
        by_pipe: dict[str, list[str]] = {}
        for n in attached:
            by_pipe.setdefault(n["pipe_id"], []).append(n["number_id"])
        for r in rows:
            r["numbers"] = by_pipe.get(r["pipe_id"], [])
        return rows

    async def pipe(self, project_id: str, pipe_id: str) -> Row | None:
        row = await self._one("SELECT * FROM pipes WHERE project_id = ? AND pipe_id = ?", project_id, pipe_id)
        if row is not None:
            numbers = await self._all("SELECT number_id FROM numbers WHERE pipe_id = ? ORDER BY number", pipe_id)
            row["numbers"] = [n["number_id"] for n in numbers]
        return row

    # --- numbers ---

    async def numbers(
        self, project_id: str, *, status: str | None = None, pipe_id: str | None = None, trunk_id: str | None = None
    ) -> list[Row]:
        sql = "SELECT * FROM numbers WHERE project_id = ?"
        args: list[Any] = [project_id]
        for column, value in (("status", status), ("pipe_id", pipe_id), ("trunk_id", trunk_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return await self._all(sql + " ORDER BY number", *args)

    async def number(self, project_id: str, number_id: str) -> Row | None:
        return await self._one("SELECT * FROM numbers WHERE project_id = ? AND number_id = ?", project_id, number_id)

    # --- trunks ---

    async def trunks(self, project_id: str) -> list[Row]:
        return await self._all("SELECT * FROM trunks WHERE project_id = ? ORDER BY created_at, trunk_id", project_id)

    async def trunk(self, project_id: str, trunk_id: str) -> Row | None:
        return await self._one("SELECT * FROM trunks WHERE project_id = ? AND trunk_id = ?", project_id, trunk_id)

    # --- calls and runners ---

    async def calls(
        self, project_id: str, *, status: str | None = None, pipe_id: str | None = None, limit: int = 100
    ) -> list[Row]:
        sql = "SELECT * FROM calls WHERE project_id = ?"
        args: list[Any] = [project_id]
        for column, value in (("status", status), ("pipe_id", pipe_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return await self._all(sql + " ORDER BY created_at DESC, call_id LIMIT ?", *args, limit)

    async def call(self, project_id: str, call_id: str) -> Row | None:
        return await self._one("SELECT * FROM calls WHERE project_id = ? AND call_id = ?", project_id, call_id)

    async def call_by_session(self, project_id: str, session_id: str) -> Row | None:
        return await self._one("SELECT * FROM calls WHERE project_id = ? AND session_id = ?", project_id, session_id)

    async def call_lines(self, call_id: str) -> list[Row]:
        return await self._all(
            "SELECT role, turn, text, interrupted, at FROM call_lines WHERE call_id = ? ORDER BY seq", call_id
        )

    async def reply_timings(self, call_id: str) -> list[str]:
        """The JSON TurnTimings of each agent reply, in order."""
        rows = await self._all(
            "SELECT timings FROM call_lines WHERE call_id = ? AND timings IS NOT NULL ORDER BY seq", call_id
        )
        return [row["timings"] for row in rows]

    # --- recordings ---

    async def recordings(self, project_id: str, *, call_id: str | None = None, limit: int = 100) -> list[Row]:
        sql = "SELECT * FROM recordings WHERE project_id = ?"
        args: list[Any] = [project_id]
        if call_id is not None:
            sql += " AND call_id = ?"
            args.append(call_id)
        return await self._all(sql + " ORDER BY created_at DESC, recording_id LIMIT ?", *args, limit)

    async def recording(self, project_id: str, recording_id: str) -> Row | None:
        return await self._one(
            "SELECT * FROM recordings WHERE project_id = ? AND recording_id = ?", project_id, recording_id
        )

    async def runners(self, project_id: str, *, agent_id: str | None = None) -> list[Row]:
        sql = "SELECT * FROM runners WHERE project_id = ?"
        args: list[Any] = [project_id]
        if agent_id is not None:
            sql += " AND agent_id = ?"
            args.append(agent_id)
        return await self._all(sql + " ORDER BY agent_id, worker_id", *args)
