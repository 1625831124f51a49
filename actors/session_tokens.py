"""Single-use, short-lived session tokens for door 1 (``POST /v1/sessions/token``).

Kept in a NATS KV bucket so any node can redeem a token issued by another.
Redeeming deletes the entry on the condition that it is still the revision that
was read: of two nodes redeeming the same token at once, exactly one succeeds.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import msgspec
import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType

BUCKET = "unpod_session_tokens"


class SessionClaims(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    pipe_id: str
    metadata: dict[str, Any] = {}
    expires_at: float


_decoder = msgspec.json.Decoder(SessionClaims)
_encoder = msgspec.json.Encoder()


class SessionTokens:
    def __init__(self, js, *, ttl_s: float = 60.0, replicas: int = 1) -> None:
        self._js = js
        self.ttl_s = ttl_s
        self._replicas = replicas
        self._kv = None

    async def start(self) -> None:
        self._kv = await self._js.create_key_value(
            KeyValueConfig(
                bucket=BUCKET, history=1, storage=StorageType.FILE, replicas=self._replicas, ttl=self.ttl_s * 2
            )
        )

    async def issue(self, project_id: str, pipe_id: str, metadata: dict[str, Any]) -> tuple[str, float]:
        token = "st_" + secrets.token_urlsafe(24)
        expires_at = time.time() + self.ttl_s
        claims = SessionClaims(project_id=project_id, pipe_id=pipe_id, metadata=metadata, expires_at=expires_at)
        await self._kv.create(token, _encoder.encode(claims))
        return token, expires_at

    async def redeem(self, token: str, pipe_id: str | None) -> SessionClaims | None:
        """The token's claims, once; None if unknown, used, expired or for another pipe
        (``pipe_id`` None: whichever pipe it was issued for)."""
        if not token.startswith("st_") or len(token) > 64:
            return None
        try:
            entry = await self._kv.get(token)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError, ValueError):
            return None
        if not entry.value:
            return None
        try:
            await self._kv.delete(token, last=entry.revision)
        except nats.js.errors.APIError:
            return None  # someone else redeemed it first
        claims = _decoder.decode(entry.value)
        if claims.expires_at < time.time() or (pipe_id is not None and claims.pipe_id != pipe_id):
            return None
        return claims
