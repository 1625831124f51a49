"""Management resources: pipes, numbers, trunks, voice profiles, API keys."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from unpod._http import Transport
from unpod.models import ApiKey, CreatedApiKey, Number, Pipe, SessionToken, Trunk, TrunkSync, VoiceProfile, convert


def _seg(value: str) -> str:
    """An id as one path segment: ``/`` or ``..`` in an id can never reach another route."""
    return quote(str(value), safe="")


def _data(body: Any) -> list[Any]:
    return body["data"] if isinstance(body, dict) and "data" in body else body


class _Resource:
    def __init__(self, http: Transport) -> None:
        self._http = http


class PipesResource(_Resource):
    async def list(self) -> list[Pipe]:
        return [convert(p, Pipe) for p in _data(await self._http.request("GET", "/v1/pipes"))]

    async def get(self, pipe_id: str) -> Pipe:
        return convert(await self._http.request("GET", f"/v1/pipes/{_seg(pipe_id)}"), Pipe)

    async def create(
        self,
        name: str,
        voice_profile: str | None = None,
        agent_id: str | None = None,
        agent_endpoint: str | None = None,
        recording: bool = False,
        max_call_duration_s: int = 3600,
        first_speaker: str = "agent",
        barge_in_min_speech_s: float = 0.6,
    ) -> Pipe:
        """Create a pipe served by an AgentRunner pool (``agent_id``) or an HTTP endpoint (``agent_endpoint``)."""
        body = {
            "name": name,
            "voice_profile": voice_profile,
            "agent_id": agent_id,
            "agent_endpoint": agent_endpoint,
            "recording": recording,
            "max_call_duration_s": max_call_duration_s,
            "first_speaker": first_speaker,
            "barge_in_min_speech_s": barge_in_min_speech_s,
        }
        return convert(await self._http.request("POST", "/v1/pipes", json=body), Pipe)

    async def update(self, pipe_id: str, **changes: Any) -> Pipe:
        """Change some fields: ``name``, ``voice_profile``, ``agent_id``, ``agent_endpoint``,
        ``recording``, ``max_call_duration_s``, ``first_speaker``, ``barge_in_min_speech_s``."""
        return convert(await self._http.request("PATCH", f"/v1/pipes/{_seg(pipe_id)}", json=changes), Pipe)

    async def delete(self, pipe_id: str) -> None:
        """Delete a pipe. Raises ConflictError while numbers are attached: detach them first."""
        await self._http.request("DELETE", f"/v1/pipes/{_seg(pipe_id)}")


class NumbersResource(_Resource):
    async def list(
        self, status: str | None = None, pipe_id: str | None = None, trunk_id: str | None = None
    ) -> list[Number]:
        params = {"status": status, "pipe_id": pipe_id, "trunk_id": trunk_id}
        return [convert(n, Number) for n in _data(await self._http.request("GET", "/v1/numbers", params=params))]

    async def get(self, number_id: str) -> Number:
        return convert(await self._http.request("GET", f"/v1/numbers/{_seg(number_id)}"), Number)

    async def add(
        self,
        number: str,
        trunk_id: str | None = None,
        country: str | None = None,
        capabilities: list[str] | None = None,
    ) -> Number:
        """Bring your own number (BYON)."""
        body = {"number": number, "trunk_id": trunk_id, "country": country, "capabilities": capabilities or ["voice"]}
        body = {k: v for k, v in body.items() if v is not None}
        return convert(await self._http.request("POST", "/v1/numbers", json=body), Number)

    async def attach(self, number_id: str, pipe_id: str) -> Number:
        body = {"pipe_id": pipe_id}
        return convert(await self._http.request("POST", f"/v1/numbers/{_seg(number_id)}/attach", json=body), Number)

    async def detach(self, number_id: str) -> Number:
        return convert(await self._http.request("POST", f"/v1/numbers/{_seg(number_id)}/detach"), Number)

    async def release(self, number_id: str) -> None:
        await self._http.request("DELETE", f"/v1/numbers/{_seg(number_id)}")


class TrunksResource(_Resource):
    async def list(self) -> list[Trunk]:
        return [convert(t, Trunk) for t in _data(await self._http.request("GET", "/v1/trunks"))]

    async def get(self, trunk_id: str) -> Trunk:
        return convert(await self._http.request("GET", f"/v1/trunks/{_seg(trunk_id)}"), Trunk)

    async def create(
        self,
        name: str,
        type: str,
        sip: dict[str, Any] | None = None,
        provider: dict[str, Any] | None = None,
        numbers: list[str] | None = None,
    ) -> Trunk:
        """Register a trunk: ``type="sip"`` with ``sip={"address", "port", "transport", "auth_username",
        "auth_password"}`` or ``type="provider"`` with ``provider={"provider", "account_id", "api_token"}``."""
        body: dict[str, Any] = {"name": name, "type": type, "numbers": numbers or []}
        if sip is not None:
            body["sip"] = sip
        if provider is not None:
            body["provider"] = provider
        return convert(await self._http.request("POST", "/v1/trunks", json=body), Trunk)

    async def sync(self, trunk_id: str) -> TrunkSync:
        """Add the trunk's numbers to the project."""
        return convert(await self._http.request("POST", f"/v1/trunks/{_seg(trunk_id)}/sync"), TrunkSync)

    async def delete(self, trunk_id: str) -> None:
        await self._http.request("DELETE", f"/v1/trunks/{_seg(trunk_id)}")


class VoiceProfilesResource(_Resource):
    async def list(self, language: str | None = None) -> list[VoiceProfile]:
        body = await self._http.request("GET", "/v1/voice-profiles", params={"language": language})
        return [convert(p, VoiceProfile) for p in _data(body)]

    async def get(self, profile_id: str) -> VoiceProfile:
        return convert(await self._http.request("GET", f"/v1/voice-profiles/{_seg(profile_id)}"), VoiceProfile)


class ApiKeysResource(_Resource):
    async def list(self) -> list[ApiKey]:
        return [convert(k, ApiKey) for k in _data(await self._http.request("GET", "/v1/api-keys"))]

    async def create(self, name: str) -> CreatedApiKey:
        """Issue a key for this project. ``.key`` is the secret, shown only now."""
        return convert(await self._http.request("POST", "/v1/api-keys", json={"name": name}), CreatedApiKey)

    async def revoke(self, key_id: str) -> None:
        await self._http.request("DELETE", f"/v1/api-keys/{_seg(key_id)}")


class SessionsResource(_Resource):
    async def create_token(self, pipe_id: str, metadata: dict[str, Any] | None = None) -> SessionToken:
        """A single-use token (valid 60 s) for a client to open the pipe's WebSocket."""
        body = {"pipe_id": pipe_id, "metadata": metadata or {}}
        return convert(await self._http.request("POST", "/v1/sessions/token", json=body), SessionToken)

    async def end(self, session_id: str) -> None:
        """End a live session from outside the call (a backend, an ops tool)."""
        await self._http.request("POST", f"/v1/sessions/{_seg(session_id)}/end")
