from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from actors.errors import Conflict
from api import dto, views
from api.deps import ManagementDep, NodeDep, PrincipalDep, ReadsDep, TraceDep
from api.errors import READ, WRITE, responses


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    security = [{"BearerAuth": []}]
    tags = ["api keys"]

    @get(summary="List the project's API keys (never their secrets)", responses=READ)
    async def list_keys(self, principal: PrincipalDep, reads: ReadsDep) -> dto.ApiKeyList:
        return dto.ApiKeyList(data=[views.api_key(r) for r in await reads.api_keys(principal.project_id)])

    @post(summary="Issue a new API key for this project; the secret is shown once", responses=responses(*WRITE, 422))
    async def issue(
        self,
        principal: PrincipalDep,
        data: JSONBody[dto.ApiKeyCreate],
        management: ManagementDep,
        node: NodeDep,
        trace: TraceDep,
    ) -> dto.ApiKeyCreated:
        written = await management.issue_api_key(principal.project_id, data.name, trace=trace)
        await node.caught_up(written.seq)
        token = written.extra["token"]
        return dto.ApiKeyCreated(
            key_id=written.id, project_id=principal.project_id, name=data.name, prefix=token[:11], key=token
        )

    @delete(
        "/{key_id:str}",
        summary="Revoke an API key",
        description="The key making the request cannot revoke itself (409): revoke it with another key.",
        responses=responses(*WRITE, 404, 409),
    )
    async def revoke(
        self, principal: PrincipalDep, key_id: FromPath[str], management: ManagementDep, node: NodeDep, trace: TraceDep
    ) -> None:
        if key_id == principal.key_id:
            raise Conflict("a key cannot revoke itself; revoke it using another key of this project")
        written = await management.revoke_api_key(principal.project_id, key_id, trace=trace)
        await node.caught_up(written.seq)
