"""JetStream publishes with their acknowledgements multiplexed over one inbox subscription.

Every append is a publish the stream answers with an acknowledgement. nats-py's
``request`` pays per call for a random token (``os.urandom``), a done-callback
closure and an ``asyncio.wait_for`` timer; on the append hot path that was a
quarter of the client's CPU. Here a token is a counter, and one timer serves
every pending publish: all share one timeout, so deadlines expire in the order
the publishes were sent (the dict keeps that order) and the timer only ever
waits for the oldest.
"""

from __future__ import annotations

import asyncio

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from actors.reply_inbox import ReplyInbox


class PublishAcks:
    def __init__(self, nc: NATS, *, timeout: float) -> None:
        self._nc = nc
        self._timeout = timeout
        self._inbox = ReplyInbox(nc, self._on_reply)
        #: token -> (future, deadline), oldest first.
        self._pending: dict[str, tuple[asyncio.Future[bytes], float]] = {}
        self._timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        await self._inbox.start()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._inbox.stop()
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(nats.errors.ConnectionClosedError())
        self._pending.clear()

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> bytes:
        """Publish and return the acknowledgement's body.

        Raises ``nats.errors.TimeoutError`` when no answer came within the timeout
        and ``nats.errors.NoRespondersError`` when no stream listens on ``subject``.
        """
        if not self._inbox.open:
            raise RuntimeError("PublishAcks not started")
        loop = asyncio.get_running_loop()
        token, reply = self._inbox.new_token()
        future: asyncio.Future[bytes] = loop.create_future()
        deadline = loop.time() + self._timeout
        self._pending[token] = (future, deadline)
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        try:
            await self._nc.publish(subject, payload, reply=reply, headers=headers)
            return await future
        finally:
            self._pending.pop(token, None)

    async def _on_reply(self, msg: Msg) -> None:
        entry = self._pending.pop(self._inbox.token_of(msg), None)
        if entry is None or entry[0].done():
            return  # answered after its deadline, or its caller was cancelled
        future = entry[0]
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_exception(nats.errors.NoRespondersError())
        else:
            future.set_result(msg.data)

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._pending:
            token, (future, deadline) = next(iter(self._pending.items()))
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                return
            del self._pending[token]
            if not future.done():
                future.set_exception(nats.errors.TimeoutError())
