"""Consumes the event log into the SQLite read model.

One writer connection (WAL). Each batch of events and the checkpoint (the last
stream sequence applied) are committed in one transaction, so a restart resumes
exactly where the last commit ended and never applies an event twice.

It reads with :meth:`EventStore.tail` from the checkpoint. Writers call
:meth:`wait_for` with the sequence of their last event to answer only once their
own change is readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import aiosqlite

from actors.event_store import EventStore
from bus_contracts.envelope import Recorded
from projections import call_handlers  # noqa: F401 - registers the call and runner handlers
from projections.handlers import HANDLERS
from projections.schema import SCHEMA, SCHEMA_VERSION

log = logging.getLogger(__name__)
CHECKPOINT = "main"


class ProjectionTimeout(Exception):
    pass


async def open_writer(path: str | Path) -> aiosqlite.Connection:
    """The writer connection; a read model of another schema version is replaced by an
    empty one, which the projector then fills by replaying the log from the start."""
    db = await aiosqlite.connect(str(path), isolation_level=None)
    async with db.execute("PRAGMA user_version") as cur:
        version = (await cur.fetchone())[0]
    async with db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'") as cur:
        has_tables = (await cur.fetchone())[0] > 0
    if has_tables and version != SCHEMA_VERSION:
        log.warning("read model schema %s != %s: rebuilding it from the event log", version, SCHEMA_VERSION)
        await db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - startup, before any serving
        db = await aiosqlite.connect(str(path), isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.executescript(SCHEMA)
    await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return db


class Projector:
    def __init__(
        self,
        store: EventStore,
        db_path: str | Path,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        on_applied: Callable[[list[Recorded]], None] | None = None,
    ) -> None:
        self.store = store
        self.db_path = Path(db_path)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.on_applied = on_applied
        self.position = 0
        self._db: aiosqlite.Connection | None = None
        self._advanced = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.errors = 0

    async def start(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await open_writer(self.db_path)
        async with self._db.execute("SELECT seq FROM checkpoint WHERE name = ?", (CHECKPOINT,)) as cur:
            row = await cur.fetchone()
        self.position = row[0] if row else 0
        self._task = asyncio.create_task(self._run(), name="projector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            try:
                async for records in self.store.tail(
                    self.position + 1, batch_size=self.batch_size, poll_interval=self.poll_interval
                ):
                    await self.apply(records)
                    backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the database refused a write: retry from the checkpoint
                self.errors += 1
                log.exception("projector failed at %d; retrying in %.2fs", self.position, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def step(self) -> int:
        """Apply the next batch; returns how many events were applied."""
        records, _remaining = await self.store.read_from(self.position + 1, self.batch_size)
        if not records:
            return 0
        await self.apply(records)
        return len(records)

    async def apply(self, records: list[Recorded]) -> None:
        db = self._db
        assert db is not None
        await db.execute("BEGIN")
        try:
            for rec in records:
                handler = HANDLERS.get(type(rec.event))
                if handler is not None:  # events this read model does not need (or cannot read)
                    await handler(db, rec)
            await db.execute(
                "INSERT INTO checkpoint(name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
                (CHECKPOINT, records[-1].seq),
            )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        self.position = records[-1].seq
        if self.on_applied is not None:
            self.on_applied(records)
        async with self._advanced:
            self._advanced.notify_all()

    async def wait_for(self, seq: int, timeout: float = 5.0) -> None:
        """Return once events up to ``seq`` are readable; ``ProjectionTimeout`` otherwise."""
        if self.position >= seq:
            return
        try:
            async with asyncio.timeout(timeout):
                async with self._advanced:
                    await self._advanced.wait_for(lambda: self.position >= seq)
        except TimeoutError as exc:
            raise ProjectionTimeout(f"read model at {self.position}, waited {timeout}s for {seq}") from exc


async def rebuild(store: EventStore, db_path: str | Path, *, batch_size: int = 1000) -> int:
    """Build a read model from an empty database by replaying the whole log."""
    path = Path(db_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - offline tool, before any I/O starts
    projector = Projector(store, path, batch_size=batch_size)
    projector._db = await open_writer(path)
    try:
        while await projector.step():
            pass
        return projector.position
    finally:
        await projector._db.close()
        projector._db = None
