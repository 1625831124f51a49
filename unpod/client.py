"""``AsyncClient`` and its blocking twin ``Client``.

Both read ``UNPOD_API_KEY`` and ``UNPOD_BASE_URL`` when not given explicitly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from unpod._http import Transport
from unpod.resources import (
    ApiKeysResource,
    NumbersResource,
    PipesResource,
    SessionsResource,
    TrunksResource,
    VoiceProfilesResource,
)

T = TypeVar("T")


class AsyncClient:
    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 30.0) -> None:
        self._http = Transport(api_key, base_url, timeout=timeout)
        self.base_url = self._http.base_url
        self.pipes = PipesResource(self._http)
        self.numbers = NumbersResource(self._http)
        self.trunks = TrunksResource(self._http)
        self.voice_profiles = VoiceProfilesResource(self._http)
        self.api_keys = ApiKeysResource(self._http)
        self.sessions = SessionsResource(self._http)

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Blocking:
    """Runs an async resource's methods on the client's private event loop."""

    def __init__(self, client: Client, resource: Any) -> None:
        self._client = client
        self._resource = resource

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._resource, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._client._run(attr(*args, **kwargs))

        call.__doc__ = attr.__doc__
        return call


class Client:
    """Blocking client. Safe to use from any thread, including inside another event loop's thread."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *, timeout: float = 30.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="unpod-client", daemon=True)
        self._thread.start()
        try:
            self._async = self._run(_make(api_key, base_url, timeout))
        except BaseException:
            self._stop_loop()
            raise
        self.base_url = self._async.base_url
        self.pipes = _Blocking(self, self._async.pipes)
        self.numbers = _Blocking(self, self._async.numbers)
        self.trunks = _Blocking(self, self._async.trunks)
        self.voice_profiles = _Blocking(self, self._async.voice_profiles)
        self.api_keys = _Blocking(self, self._async.api_keys)
        self.sessions = _Blocking(self, self._async.sessions)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._async.close())
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make(api_key: str | None, base_url: str | None, timeout: float) -> AsyncClient:
    return AsyncClient(api_key, base_url, timeout=timeout)
