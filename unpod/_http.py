"""The HTTP transport: auth header, JSON, bounded retries, typed errors."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import httpx

from unpod.errors import ConfigurationError, ConnectionFailed, error_for

DEFAULT_BASE_URL = "http://127.0.0.1:8700"
#: Requests that may be re-sent after the server may have acted on them.
_SAFE = {"GET", "HEAD", "OPTIONS"}
_RETRY_STATUS = {502, 503, 504}


def resolve_base_url(base_url: str | None) -> str:
    url = (base_url or os.environ.get("UNPOD_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
    if url.startswith("ws://"):
        url = "http://" + url[5:]
    elif url.startswith("wss://"):
        url = "https://" + url[6:]
    elif "://" not in url:
        url = "http://" + url
    return url


class Transport:
    def __init__(
        self, api_key: str | None, base_url: str | None, *, timeout: float = 30.0, max_retries: int = 2
    ) -> None:
        api_key = api_key or os.environ.get("UNPOD_API_KEY")
        if not api_key:
            raise ConfigurationError("no API key: pass api_key=... or set UNPOD_API_KEY")
        self.base_url = resolve_base_url(base_url)
        self.max_retries = max_retries
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "unpod-stack-python"},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None} or None
        attempt = 0
        while True:
            try:
                resp = await self._client.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                # A request that never reached the server can always be re-sent;
                # one that may have been processed only when it changes nothing.
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if (never_sent or method in _SAFE) and attempt < self.max_retries:
                    attempt += 1
                    await asyncio.sleep(_backoff(attempt))
                    continue
                raise ConnectionFailed(f"{method} {self.base_url}{path}: {exc}") from exc
            if resp.status_code in _RETRY_STATUS and method in _SAFE and attempt < self.max_retries:
                attempt += 1
                await asyncio.sleep(_backoff(attempt))
                continue
            return _decode(resp)


def _backoff(attempt: int) -> float:
    return min(2.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


def _decode(resp: httpx.Response) -> Any:
    body: Any = None
    if resp.content:
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
    if resp.is_success:
        return body
    if isinstance(body, dict):
        code = str(body.get("code") or "error")
        message = str(body.get("message") or body.get("detail") or resp.reason_phrase)
    else:
        code, message = "error", (body or resp.reason_phrase or "error")
    raise error_for(resp.status_code, code, str(message), body)
