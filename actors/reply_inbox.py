"""Replies to many requests over one wildcard subscription.

Each request's reply subject is the inbox prefix plus its own token (a counter):
no per-request subscription, random token or timer, as nats-py's ``request``
would pay. Used by the event store's publish acknowledgements and direct gets.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg


class ReplyInbox:
    def __init__(self, nc: NATS, on_reply: Callable[[Msg], Awaitable[None]]) -> None:
        self._nc = nc
        self._on_reply = on_reply
        self._prefix = ""
        self._sub = None
        self._tokens = itertools.count(1)

    @property
    def open(self) -> bool:
        return self._sub is not None

    async def start(self) -> None:
        self._prefix = self._nc.new_inbox() + "."
        self._sub = await self._nc.subscribe(self._prefix + "*", cb=self._on_reply, pending_msgs_limit=1_000_000)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):  # connection already closed: nothing to unsubscribe
                await self._sub.unsubscribe()
            self._sub = None

    def new_token(self) -> tuple[str, str]:
        """A fresh token and the reply subject that carries it."""
        token = str(next(self._tokens))
        return token, self._prefix + token

    def token_of(self, msg: Msg) -> str:
        return msg.subject[len(self._prefix) :]
