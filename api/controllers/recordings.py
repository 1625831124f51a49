"""Call recordings: stereo WAV files (the caller left, the agent right) of the calls of
pipes that record, listed from the read model and served from the recordings bucket."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import Annotated, Any, BinaryIO

import msgspec
from litestar import Controller, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from actors.errors import NotFound
from api.deps import NodeDep, PrincipalDep, ReadsDep
from api.errors import READ_ONE, responses

_CHUNK = 256 * 1024
#: What the schema says of a download (Litestar documents a stream as "anything").
_WAV = {200: ResponseSpec(data_container=bytes, media_type="audio/wav", description="The WAV file",
                          generate_examples=False)}  # fmt: skip


class PausedSpan(msgspec.Struct, kw_only=True):
    start_s: float
    end_s: float


class Recording(msgspec.Struct, kw_only=True):
    recording_id: str
    call_id: str
    pipe_id: str
    #: The call's audio from start to end; paused spans are in it, as silence.
    duration_s: float
    size_bytes: int
    sample_rate: int
    #: 2: the caller on the left channel, the agent on the right.
    channels: int
    paused_s: float
    #: Seconds from the start of the file.
    paused_spans: list[PausedSpan]
    #: The WAV file (16-bit PCM), with the same API key.
    audio_url: str
    created_at: str


class RecordingList(msgspec.Struct):
    data: list[Recording]


class RecordingRef(msgspec.Struct, kw_only=True):
    """A call's recording, as the call shows it."""

    recording_id: str
    duration_s: float
    audio_url: str


def _audio_url(recording_id: str) -> str:
    return f"/v1/recordings/{recording_id}/audio"


def recording_ref(row: dict[str, Any]) -> RecordingRef:
    return RecordingRef(
        recording_id=row["recording_id"], duration_s=row["duration_s"], audio_url=_audio_url(row["recording_id"])
    )


def _recording(row: dict[str, Any]) -> Recording:
    return Recording(
        recording_id=row["recording_id"],
        call_id=row["call_id"],
        pipe_id=row["pipe_id"],
        duration_s=row["duration_s"],
        size_bytes=row["size_bytes"],
        sample_rate=row["sample_rate"],
        channels=row["channels"],
        paused_s=row["paused_s"],
        paused_spans=[PausedSpan(start_s=start, end_s=end) for start, end in row["paused_spans"]],
        audio_url=_audio_url(row["recording_id"]),
        created_at=row["created_at"],
    )


async def _own(reads, principal, recording_id: str) -> dict[str, Any]:
    row = await reads.recording(principal.project_id, recording_id)
    if row is None:
        raise NotFound("recording not found")
    return row


async def _chunks(file: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, _CHUNK):
            yield chunk
    finally:
        file.close()


class RecordingController(Controller):
    path = "/v1/recordings"
    security = [{"BearerAuth": []}]
    tags = ["recordings"]

    @get(summary="List the project's call recordings, newest first", responses=responses(400, 401))
    async def list_recordings(
        self,
        principal: PrincipalDep,
        reads: ReadsDep,
        call_id: Annotated[str | None, QueryParameter(max_length=128)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> RecordingList:
        rows = await reads.recordings(principal.project_id, call_id=call_id, limit=limit)
        return RecordingList(data=[_recording(r) for r in rows])

    @get("/{recording_id:str}", summary="Get a call recording's details", responses=READ_ONE)
    async def get_recording(self, principal: PrincipalDep, recording_id: FromPath[str], reads: ReadsDep) -> Recording:
        return _recording(await _own(reads, principal, recording_id))

    @get(
        "/{recording_id:str}/audio",
        summary="Download a call recording (WAV: 16-bit PCM, the caller left, the agent right)",
        media_type="audio/wav",
        responses={**_WAV, **responses(401, 404, 503)},
    )
    async def get_audio(
        self, principal: PrincipalDep, recording_id: FromPath[str], reads: ReadsDep, node: NodeDep
    ) -> Stream:
        await _own(reads, principal, recording_id)
        # Spooled to disk first: an hour of stereo audio is 230 MB, not something to hold
        # in memory, and the bucket's checksum is verified before the first byte leaves.
        spool = tempfile.TemporaryFile()
        try:
            if not await node.recordings.get(recording_id, spool):
                raise NotFound("the recording's audio is missing from the recordings bucket")
            size = spool.tell()
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return Stream(
            _chunks(spool),
            media_type="audio/wav",
            headers={
                "Content-Length": str(size),
                "Content-Disposition": f'attachment; filename="{recording_id}.wav"',
            },
        )
