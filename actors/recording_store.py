"""Call recordings (WAV files) live in a NATS JetStream object store bucket, one object
per recording id, not in the event log: audio never enters the stream. The call's
``call.recording_stored`` event names the object and describes it."""

from __future__ import annotations

from typing import BinaryIO

from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import ObjectNotFoundError

from bus_contracts.subjects import RECORDINGS_BUCKET


class RecordingStore:
    def __init__(self, js, *, replicas: int = 1) -> None:
        self._js = js
        self._replicas = replicas
        self._bucket = None

    async def start(self) -> None:
        self._bucket = await self._js.create_object_store(
            RECORDINGS_BUCKET,
            config=ObjectStoreConfig(description="call recordings", storage=StorageType.FILE, replicas=self._replicas),
        )

    async def put(self, recording_id: str, file: BinaryIO) -> int:
        """Store the file (read in chunks, off the event loop); its size in bytes."""
        info = await self._bucket.put(recording_id, file)
        return info.size

    async def get(self, recording_id: str, into: BinaryIO) -> bool:
        """Write the recording into ``into``; False when there is no such object."""
        try:
            await self._bucket.get(recording_id, writeinto=into)
        except ObjectNotFoundError:
            return False
        return True
