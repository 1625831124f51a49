from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, post
from litestar.params import FromPath, JSONBody

from actors.errors import Invalid, NotFound
from api.deps import NodeDep, PrincipalDep, ReadsDep
from api.errors import WRITE, responses


class SessionEnded(msgspec.Struct, kw_only=True):
    session_id: str
    call_id: str
    status: str


class SessionTokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pipe_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    #: Handed to the agent as ``ctx.data``.
    metadata: dict[str, Any] = {}


class SessionToken(msgspec.Struct, kw_only=True):
    #: Single use; give it to the client, which opens ``/v1/pipes/{pipe_id}/connect?token=...``.
    token: str
    #: Unix time after which it can no longer be used.
    expires_at: float
    pipe_id: str


class SessionController(Controller):
    path = "/v1/sessions"
    security = [{"BearerAuth": []}]
    tags = ["sessions"]

    @post(
        "/token",
        summary="A single-use session token for a client to connect to a pipe (valid 60 s)",
        responses=responses(*WRITE, 422),
    )
    async def create_token(
        self, principal: PrincipalDep, data: JSONBody[SessionTokenCreate], node: NodeDep, reads: ReadsDep
    ) -> SessionToken:
        if await reads.pipe(principal.project_id, data.pipe_id) is None:
            raise Invalid(f"pipe {data.pipe_id} not found in this project")
        if len(msgspec.json.encode(data.metadata)) > 16_384:
            raise Invalid("metadata must be at most 16 KiB of JSON")
        token, expires_at = await node.session_tokens.issue(principal.project_id, data.pipe_id, data.metadata)
        return SessionToken(token=token, expires_at=expires_at, pipe_id=data.pipe_id)

    @post(
        "/{session_id:str}/end",
        status_code=200,
        summary="End a live session (its call)",
        responses=responses(401, 404, 503),
    )
    async def end(
        self, principal: PrincipalDep, session_id: FromPath[str], node: NodeDep, reads: ReadsDep
    ) -> SessionEnded:
        row = await reads.call_by_session(principal.project_id, session_id)
        if row is None:
            raise NotFound("session not found")
        await node.hangup(row["call_id"], "operator")
        await node.caught_up(await node.store.last_seq())
        row = await reads.call(principal.project_id, row["call_id"])
        return SessionEnded(session_id=session_id, call_id=row["call_id"], status=row["status"])
