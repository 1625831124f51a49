"""A pipe's ``agent_endpoint``: the brain is a plain HTTP URL called every turn.

``POST <url>`` with ``{"text", "context": {call_id, session_id, turn_number,
direction, user_number, data}}``; the reply must be ``{"text": "..."}``. Any
failure (timeout, connection, non-2xx, not that shape) is an ``EndpointFailure``
with a code the call records; the caller hears a fallback instead.
"""

from __future__ import annotations

from typing import Any

import httpx

FALLBACK = "Sorry, I'm having trouble answering right now. Could you say that again?"


class EndpointFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AgentEndpoint:
    def __init__(self, url: str, *, timeout_s: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._own_client = client is None

    async def turn(self, text: str, context: dict[str, Any]) -> str:
        try:
            resp = await self._client.post(self.url, json={"text": text, "context": context})
        except httpx.TimeoutException as exc:
            raise EndpointFailure("endpoint_timeout", f"no answer from the agent endpoint in time ({exc})") from exc
        except httpx.HTTPError as exc:
            raise EndpointFailure("endpoint_unreachable", f"could not reach the agent endpoint: {exc}") from exc
        if not resp.is_success:
            raise EndpointFailure("endpoint_status", f"the agent endpoint answered {resp.status_code}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise EndpointFailure("endpoint_malformed", "the agent endpoint's answer is not JSON") from exc
        reply = body.get("text") if isinstance(body, dict) else None
        if not isinstance(reply, str):
            raise EndpointFailure("endpoint_malformed", 'the agent endpoint must answer {"text": "..."}')
        return reply

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()
