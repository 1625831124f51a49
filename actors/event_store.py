"""The event store: one JetStream stream, one subject per aggregate instance.

* ``append`` publishes with ``Nats-Expected-Last-Subject-Sequence`` (a stale
  writer gets :class:`ConcurrencyError`) and ``Nats-Msg-Id`` = event id. Several
  events from one decision go in one atomic batch: all or nothing.
* Re-publishing events that are already stored is a no-op that answers like the
  first append (JetStream answers 10071 to such a retry, so we look at what
  follows the expected sequence and recognise our own event ids).
* ``load`` folds an aggregate's subject; ``read_from`` tails the whole log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js.api import StorageType, StreamConfig

from actors.decider import Decider
from actors.direct_get import DirectGetError, DirectGetUnavailable, DirectReader, RawEvent
from actors.errors import ConcurrencyError
from actors.publish_acks import PublishAcks
from bus_contracts.envelope import Envelope, Recorded, decode_event, decode_recorded, encode_envelope
from bus_contracts.subjects import ALL_EVENTS, StreamSettings, event_subject

log = logging.getLogger(__name__)

#: Failures that mean "no answer right now" (a reconnect, a cluster electing a
#: leader). Retrying is safe: reads are reads, and an append re-sent after a lost
#: acknowledgement is recognised as already stored.
TRANSIENT = (
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.errors.TimeoutError,
    TimeoutError,
    DirectGetUnavailable,
)

WRONG_LAST_SEQUENCE = 10071
#: An atomic batch carrying a Nats-Msg-Id the stream has already seen.
BATCH_DUPLICATE_MSG_ID = 10201
S = TypeVar("S")


class _PubAck(msgspec.Struct):
    seq: int | None = None
    error: dict[str, Any] | None = None


_ACK = msgspec.json.Decoder(_PubAck)


@dataclass(frozen=True)
class AppendResult:
    #: Stream sequence of the last event written (the aggregate's new version).
    last_seq: int
    #: True when every event was already stored (a retried append).
    duplicate: bool = False


@dataclass(frozen=True)
class Loaded(Generic[S]):
    state: S
    #: Stream sequence of the aggregate's last event; 0 for a new aggregate.
    version: int
    events: int


class EventStore:
    def __init__(
        self, nc: NATS, settings: StreamSettings | None = None, *, timeout: float = 2.0, retry_window: float = 10.0
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream(timeout=timeout)
        self.settings = settings or StreamSettings()
        self._timeout = timeout
        #: How long a read or append keeps retrying transient failures before giving up.
        self.retry_window = retry_window
        self._reader = DirectReader(nc, self.settings.name, timeout=timeout)
        self._acks = PublishAcks(nc, timeout=timeout)

    # --- lifecycle -------------------------------------------------------------

    def stream_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.settings.name,
            subjects=[ALL_EVENTS],
            storage=StorageType.FILE if self.settings.storage == "file" else StorageType.MEMORY,
            num_replicas=self.settings.replicas,
            duplicate_window=self.settings.duplicate_window_s,
            allow_direct=True,
            allow_atomic=True,
        )

    async def start(self, ready_timeout: float = 30.0) -> None:
        """Create (or update) the stream and start the reader.

        A cluster that has just started has no JetStream leader for a few
        seconds; wait for it (bounded) instead of failing the node's start.
        """
        config = self.stream_config()
        async with asyncio.timeout(ready_timeout):
            backoff = 0.1
            while True:
                try:
                    await self.js.add_stream(config)
                    break
                except nats.js.errors.BadRequestError:
                    # Exists with different settings (e.g. replicas changed): update what may change.
                    await self.js.update_stream(config)
                    break
                except (
                    nats.js.errors.ServiceUnavailableError,
                    nats.errors.TimeoutError,
                    nats.errors.NoRespondersError,
                ):
                    log.info("JetStream not ready yet; retrying in %.1fs", backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
        await self._reader.start()
        await self._acks.start()

    async def stop(self) -> None:
        await self._acks.stop()
        await self._reader.stop()

    # --- writing ---------------------------------------------------------------

    async def _retrying(self, operation, what: str):
        try:  # the common case pays for nothing but this try
            return await operation()
        except TRANSIENT as exc:
            first = exc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_window
        backoff = 0.05
        while True:
            if loop.time() + backoff > deadline:
                raise first
            log.info("%s: %s; retrying in %.2fs", what, type(first).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
            try:
                return await operation()
            except TRANSIENT as exc:
                first = exc

    async def append(self, envelopes: Sequence[Envelope], expected: int) -> AppendResult:
        """Append events of one aggregate, expecting its subject to end at ``expected``.

        Transient failures are retried with the same event ids for up to
        ``retry_window`` seconds; a retry of an append that was in fact stored
        answers like the first one.
        """
        try:
            return await self._append_once(envelopes, expected)
        except TRANSIENT:
            return await self._retrying(lambda: self._append_once(envelopes, expected), "append")

    async def _append_once(self, envelopes: Sequence[Envelope], expected: int) -> AppendResult:
        if not envelopes:
            raise ValueError("nothing to append")
        first = envelopes[0]
        subject = event_subject(first.aggregate, first.aggregate_id)
        if len(envelopes) > 1 and any(
            (e.aggregate, e.aggregate_id) != (first.aggregate, first.aggregate_id) for e in envelopes
        ):
            raise ValueError("one append writes to one aggregate")
        try:
            if len(envelopes) == 1:
                headers = self._headers(first, expected)
                return AppendResult(await self._publish(subject, encode_envelope(first), headers))
            return AppendResult(await self._append_batch(subject, envelopes, expected))
        except nats.js.errors.APIError as err:
            if err.err_code not in (WRONG_LAST_SEQUENCE, BATCH_DUPLICATE_MSG_ID):
                raise
            return await self._already_stored_or_conflict(subject, envelopes, expected, err.description or "")

    @staticmethod
    def _headers(envelope: Envelope, expected: int | None) -> dict[str, str]:
        headers = {"Nats-Msg-Id": envelope.event_id}
        if expected is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(expected)
        if tp := envelope.trace.get("traceparent"):
            headers["traceparent"] = tp
        return headers

    async def _append_batch(self, subject: str, envelopes: Sequence[Envelope], expected: int) -> int:
        batch_id = uuid.uuid4().hex
        last = len(envelopes)
        for i, envelope in enumerate(envelopes, start=1):
            headers = self._headers(envelope, expected if i == 1 else None)
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(i)
            if i < last:
                await self.nc.publish(subject, encode_envelope(envelope), headers=headers)
                continue
            headers["Nats-Batch-Commit"] = "1"
            return await self._publish(subject, encode_envelope(envelope), headers)
        raise AssertionError("unreachable")

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> int:
        """A JetStream publish (a request the stream answers); returns the stream sequence.

        The same protocol as ``js.publish``, through :class:`PublishAcks` and
        with the acknowledgement decoded by msgspec: this is the hot path of
        every write.
        """
        try:
            reply = await self._acks.publish(subject, payload, headers)
        except nats.errors.NoRespondersError as err:
            raise nats.js.errors.NoStreamResponseError from err
        ack = _ACK.decode(reply)
        if ack.error is not None:
            raise nats.js.errors.APIError.from_error(ack.error)
        if ack.seq is None:
            raise nats.js.errors.APIError(description=f"unexpected publish acknowledgement: {reply[:200]!r}")
        return ack.seq

    async def _already_stored_or_conflict(
        self, subject: str, envelopes: Sequence[Envelope], expected: int, detail: str
    ) -> AppendResult:
        stored, _ = await self._reader.batch(expected + 1, subject, limit=len(envelopes))
        if len(stored) == len(envelopes) and all(
            r.msg_id == e.event_id for r, e in zip(stored, envelopes, strict=True)
        ):
            return AppendResult(stored[-1].seq, duplicate=True)
        raise ConcurrencyError(subject, expected, detail)

    # --- reading ---------------------------------------------------------------

    async def read_subject(self, aggregate: str, aggregate_id: str, after: int = 0) -> list[Recorded]:
        subject = event_subject(aggregate, aggregate_id)
        raw = await self._retrying(lambda: self._reader.read_all(after + 1, subject), "read")
        return [_decode(r) for r in raw]

    async def load(self, decider: Decider[S], aggregate_id: str) -> Loaded[S]:
        return await self.catch_up(decider, aggregate_id, decider.initial(), 0)

    async def catch_up(self, decider: Decider[S], aggregate_id: str, state: S, version: int) -> Loaded[S]:
        """Fold whatever was appended to the aggregate after ``version``."""
        subject = event_subject(decider.aggregate, aggregate_id)
        bodies, last = await self._retrying(lambda: self._reader.bodies(version + 1, subject), "load")
        if bodies:
            state = decider.fold(state, (decode_event(b) for b in bodies))
            version = last
        return Loaded(state, version, len(bodies))

    async def read_from(self, start_seq: int, limit: int = 1000) -> tuple[list[Recorded], int]:
        """Up to ``limit`` events of any aggregate from ``start_seq``; and how many remain."""
        raw, remaining = await self._retrying(lambda: self._reader.batch(start_seq, ALL_EVENTS, limit), "read")
        return [_decode(r) for r in raw], remaining

    async def last_seq(self) -> int:
        info = await self.js.stream_info(self.settings.name)
        return info.state.last_seq

    async def tail(
        self, start_seq: int, *, batch_size: int = 500, poll_interval: float = 1.0
    ) -> AsyncIterator[list[Recorded]]:
        """Every event from ``start_seq`` on, in order, in batches; then new ones as they are appended.

        A core subscription on the event subjects only wakes the reader up; the
        periodic poll covers wake-ups lost across a reconnect. Transient NATS
        errors are retried with bounded backoff, so the iterator survives a
        server restart.
        """
        wake = asyncio.Event()

        async def on_append(_msg: object) -> None:
            wake.set()

        sub = await self.nc.subscribe(ALL_EVENTS, cb=on_append, pending_msgs_limit=1_000_000)
        seq, backoff = start_seq, 0.05
        try:
            while True:
                wake.clear()  # before reading: an append during the read sets it again
                try:
                    records, _ = await self.read_from(seq, batch_size)
                except (nats.errors.Error, TimeoutError, DirectGetError) as exc:
                    log.warning("reading events from %d failed (%s); retrying in %.2fs", seq, exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                backoff = 0.05
                if records:
                    yield records
                    seq = records[-1].seq + 1
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), poll_interval)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


def _decode(raw: RawEvent) -> Recorded:
    return decode_recorded(raw.seq, raw.subject, raw.data)
