from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from actors.errors import NotFound
from api import dto, views
from api.deps import ManagementDep, NodeDep, PrincipalDep, ReadsDep, TraceDep
from api.errors import READ, READ_ONE, WRITE, responses
from bus_contracts.events import ProviderTrunkConfig, SipTrunkConfig


class TrunkController(Controller):
    path = "/v1/trunks"
    security = [{"BearerAuth": []}]
    tags = ["trunks"]

    @get(summary="List the project's trunks", responses=READ)
    async def list_trunks(self, principal: PrincipalDep, reads: ReadsDep) -> dto.TrunkList:
        return dto.TrunkList(data=[views.trunk(r) for r in await reads.trunks(principal.project_id)])

    @post(summary="Register a SIP trunk or carrier account", responses=responses(*WRITE, 422))
    async def register(
        self,
        principal: PrincipalDep,
        data: JSONBody[dto.SipTrunkCreate | dto.ProviderTrunkCreate],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> dto.Trunk:
        sip = provider = None
        sip_password = api_token = None
        if isinstance(data, dto.SipTrunkCreate):
            s = data.sip
            sip_password = s.auth_password
            sip = SipTrunkConfig(
                address=s.address,
                port=s.port,
                transport=s.transport,
                auth_username=s.auth_username,
                has_auth_password=bool(s.auth_password),
            )
        else:
            p = data.provider
            api_token = p.api_token
            provider = ProviderTrunkConfig(
                provider=p.provider, account_id=p.account_id, has_api_token=bool(p.api_token)
            )
        written = await management.register_trunk(
            principal.project_id,
            name=data.name,
            type="sip" if sip else "provider",
            sip=sip,
            provider=provider,
            numbers=tuple(data.numbers),
            sip_password=sip_password,
            api_token=api_token,
            trace=trace,
        )
        await node.caught_up(written.seq)
        row = await reads.trunk(principal.project_id, written.id)
        if row is None:
            raise NotFound("trunk not found")
        return views.trunk(row)

    @get("/{trunk_id:str}", summary="Get a trunk", responses=READ_ONE)
    async def get_trunk(self, principal: PrincipalDep, trunk_id: FromPath[str], reads: ReadsDep) -> dto.Trunk:
        row = await reads.trunk(principal.project_id, trunk_id)
        if row is None:
            raise NotFound("trunk not found")
        return views.trunk(row)

    @post(
        "/{trunk_id:str}/sync",
        status_code=200,
        summary="Add the trunk's numbers to the project",
        responses=responses(*WRITE, 404),
    )
    async def sync(
        self,
        principal: PrincipalDep,
        trunk_id: FromPath[str],
        management: ManagementDep,
        node: NodeDep,
        trace: TraceDep,
    ) -> dto.TrunkSync:
        written = await management.sync_trunk(principal.project_id, trunk_id, trace=trace)
        await node.caught_up(written.seq)
        x = written.extra
        return dto.TrunkSync(trunk_id=trunk_id, synced=x["synced"], new=x["new"], skipped=x["skipped"])

    @delete(
        "/{trunk_id:str}",
        summary="Delete a trunk",
        description="Releases the trunk's numbers. Refused with 409 while any of them is attached to a pipe.",
        responses=responses(*WRITE, 404, 409),
    )
    async def delete_trunk(
        self,
        principal: PrincipalDep,
        trunk_id: FromPath[str],
        management: ManagementDep,
        node: NodeDep,
        trace: TraceDep,
    ) -> None:
        written = await management.delete_trunk(principal.project_id, trunk_id, trace=trace)
        await node.caught_up(written.seq)
