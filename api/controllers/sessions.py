from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody

from actors.errors import Invalid
from api.deps import NodeDep, PrincipalDep, ReadsDep
from api.errors import WRITE, responses


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
