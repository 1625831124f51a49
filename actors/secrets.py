"""Secrets (trunk passwords, carrier tokens) live in a NATS KV bucket, not in the
event log: events are immutable and replicated everywhere, a secret must be
deletable. Events only record that a secret exists."""

from __future__ import annotations

import contextlib

import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType

from bus_contracts.subjects import SECRETS_BUCKET


class SecretStore:
    def __init__(self, js, *, replicas: int = 1) -> None:
        self._js = js
        self._replicas = replicas
        self._kv = None

    async def start(self) -> None:
        self._kv = await self._js.create_key_value(
            KeyValueConfig(bucket=SECRETS_BUCKET, history=1, storage=StorageType.FILE, replicas=self._replicas)
        )

    async def put(self, key: str, value: str) -> None:
        await self._kv.put(key, value.encode())

    async def get(self, key: str) -> str | None:
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        return entry.value.decode() if entry.value else None

    async def delete(self, key: str) -> None:
        with contextlib.suppress(nats.js.errors.KeyNotFoundError):
            await self._kv.purge(key)
