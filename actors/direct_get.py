"""Batched JetStream direct get, multiplexed over one inbox subscription.

One request (``{"seq", "batch", "next_by_subj"}``) streams back up to ``batch``
messages and ends with a ``204 EOB`` status that says how many remain. This is
how aggregates are loaded and the log is tailed: no consumer state on the
server, so nothing to recover after a server restart (cf. nats.py #504).

Folding an aggregate needs only the bodies and the last sequence, so
:meth:`DirectReader.bodies` asks the server to leave headers out (``no_hdr``):
nats-py parses every header line in Python, which made a 1,000-event load 3x
slower. The EOB still carries ``Nats-Last-Sequence``. Should a server ignore
``no_hdr``, messages simply arrive with headers and are read the same way.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from actors.reply_inbox import ReplyInbox


@dataclass
class RawEvent:
    seq: int
    subject: str
    data: bytes
    msg_id: str | None


@dataclass
class _Batch:
    future: asyncio.Future[int]
    messages: list[RawEvent] = field(default_factory=list)
    #: ``Nats-Last-Sequence`` of the EOB: the sequence of the last message sent.
    last_seq: int = 0
    #: ``Nats-Num-Pending`` of the EOB.
    pending: int = 0


class DirectGetError(Exception):
    pass


class DirectGetUnavailable(DirectGetError):
    """No server answered (status 503), e.g. while a cluster re-routes after losing a member."""


class DirectReader:
    def __init__(self, nc: NATS, stream: str, *, timeout: float = 5.0) -> None:
        self._nc = nc
        self._stream = stream
        self._timeout = timeout
        self._inbox = ReplyInbox(nc, self._on_msg)
        self._pending: dict[str, _Batch] = {}

    async def start(self) -> None:
        await self._inbox.start()

    async def stop(self) -> None:
        await self._inbox.stop()
        for batch in self._pending.values():
            if not batch.future.done():
                batch.future.set_exception(DirectGetError("reader stopped"))
        self._pending.clear()

    async def _on_msg(self, msg: Msg) -> None:
        batch = self._pending.get(self._inbox.token_of(msg))
        if batch is None or batch.future.done():
            return
        headers = msg.headers or {}
        status = headers.get("Status")
        if status is not None:
            if status == "204":  # end of batch
                batch.last_seq = int(headers.get("Nats-Last-Sequence", "0"))
                batch.pending = int(headers.get("Nats-Num-Pending", "0"))
                batch.future.set_result(batch.pending)
            elif status == "404":  # nothing at or after seq
                batch.future.set_result(0)
            elif status == "503":
                batch.future.set_exception(DirectGetUnavailable("no JetStream server answered the direct get"))
            else:
                batch.future.set_exception(DirectGetError(f"direct get failed: {status} {headers}"))
            return
        if not headers:  # a no_hdr request: the body only
            batch.messages.append(RawEvent(seq=0, subject="", data=msg.data, msg_id=None))
            return
        batch.messages.append(
            RawEvent(
                seq=int(headers["Nats-Sequence"]),
                subject=headers["Nats-Subject"],
                data=msg.data,
                msg_id=headers.get("Nats-Msg-Id"),
            )
        )

    async def batch(self, start_seq: int, subject_filter: str, limit: int = 1000) -> tuple[list[RawEvent], int]:
        """Messages with seq >= ``start_seq`` on ``subject_filter``; returns them and how many remain."""
        batch = await self._request(start_seq, subject_filter, limit, headers=True)
        return batch.messages, batch.future.result()

    async def bodies(self, start_seq: int, subject_filter: str, limit: int = 1000) -> tuple[list[bytes], int]:
        """Every body from ``start_seq`` on (following up), and the sequence of the last one (0 if none)."""
        out: list[bytes] = []
        last = 0
        seq = start_seq
        while True:
            batch = await self._request(seq, subject_filter, limit, headers=False)
            got = len(batch.messages)
            out.extend(m.data for m in batch.messages)
            if got:
                last = batch.messages[-1].seq or batch.last_seq
            # A batch can be short because the server caps its bytes, so a short
            # batch alone does not mean the end. Without headers the EOB's
            # Num-Pending counts the matches from ``seq`` (with headers: those
            # left); either way the end is when it is not more than we got.
            if not got or not last or (got < limit and batch.pending <= got):
                return out, last
            seq = last + 1

    async def _request(self, start_seq: int, subject_filter: str, limit: int, *, headers: bool) -> _Batch:
        if not self._inbox.open:
            raise DirectGetError("reader not started")
        token, reply = self._inbox.new_token()
        batch = _Batch(asyncio.get_running_loop().create_future())
        self._pending[token] = batch
        try:
            request: dict[str, object] = {"seq": max(start_seq, 1), "batch": limit, "next_by_subj": subject_filter}
            if not headers:
                request["no_hdr"] = True
            await self._nc.publish(f"$JS.API.DIRECT.GET.{self._stream}", json.dumps(request).encode(), reply=reply)
            await asyncio.wait_for(batch.future, self._timeout)
        finally:
            self._pending.pop(token, None)
        return batch

    async def read_all(self, start_seq: int, subject_filter: str, limit: int = 1000) -> list[RawEvent]:
        """Every message from ``start_seq`` on, following up until nothing remains."""
        out: list[RawEvent] = []
        seq = start_seq
        while True:
            messages, remaining = await self.batch(seq, subject_filter, limit)
            out.extend(messages)
            if not messages or remaining == 0:
                return out
            seq = messages[-1].seq + 1
