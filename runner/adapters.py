"""Brains that live elsewhere. Any object with an async ``stream(text)`` generator
fits ``session.dialog_machine``; this one calls an HTTP endpoint per turn.

A dialog machine may also expose ``last_usage`` (``input_tokens``, ``output_tokens``,
``cost_usd``) for the reply it just streamed; ``session.metrics.live()`` adds it up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx


class HTTPAdapter:
    """POST ``{"text", "context"}`` to ``url`` each turn; the reply is ``{"text": ...}``
    (the same contract as a pipe's ``agent_endpoint``)."""

    def __init__(self, url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)
        self.context: dict[str, Any] = {}
        #: The ``usage`` object of the last reply, when the endpoint sends one.
        self.last_usage: dict[str, Any] | None = None

    async def stream(self, text: str, **context: Any) -> AsyncIterator[str]:
        self.last_usage = None
        resp = await self._client.post(self.url, json={"text": text, "context": {**self.context, **context}})
        resp.raise_for_status()
        body = resp.json()
        reply = body.get("text") if isinstance(body, dict) else None
        if not isinstance(reply, str):
            raise ValueError(f"{self.url} answered without a 'text' string")
        usage = body.get("usage")
        self.last_usage = usage if isinstance(usage, dict) else None
        yield reply

    async def aclose(self) -> None:
        await self._client.aclose()
