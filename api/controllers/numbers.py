from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from actors.errors import NotFound
from api import dto, views
from api.deps import ManagementDep, NodeDep, PrincipalDep, ReadsDep, TraceDep
from api.errors import READ_ONE, WRITE, responses
from api.node import Node
from projections.read_model import ReadModel


async def _read(node: Node, reads: ReadModel, project_id: str, number_id: str, seq: int) -> dto.Number:
    await node.caught_up(seq)
    row = await reads.number(project_id, number_id)
    if row is None:
        raise NotFound("number not found")
    return views.number(row)


class NumberController(Controller):
    path = "/v1/numbers"
    security = [{"BearerAuth": []}]
    tags = ["numbers"]

    @get(summary="List the project's phone numbers", responses=responses(400, 401))
    async def list_numbers(
        self,
        principal: PrincipalDep,
        reads: ReadsDep,
        status: FromQuery[Literal["available", "assigned", "in_call"] | None] = None,
        pipe_id: Annotated[str | None, QueryParameter(max_length=128)] = None,
        trunk_id: Annotated[str | None, QueryParameter(max_length=128)] = None,
    ) -> dto.NumberList:
        rows = await reads.numbers(principal.project_id, status=status, pipe_id=pipe_id, trunk_id=trunk_id)
        return dto.NumberList(data=[views.number(r) for r in rows])

    @post(summary="Add a number you bring (BYON)", responses=responses(*WRITE, 409, 422))
    async def add_number(
        self,
        principal: PrincipalDep,
        data: JSONBody[dto.NumberCreate],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> dto.Number:
        written = await management.add_number(
            principal.project_id,
            data.number,
            trunk_id=data.trunk_id,
            country=data.country,
            capabilities=tuple(dict.fromkeys(data.capabilities)),
            trace=trace,
        )
        return await _read(node, reads, principal.project_id, written.id, written.seq)

    @get("/{number_id:str}", summary="Get a phone number", responses=READ_ONE)
    async def get_number(self, principal: PrincipalDep, number_id: FromPath[str], reads: ReadsDep) -> dto.Number:
        row = await reads.number(principal.project_id, number_id)
        if row is None:
            raise NotFound("number not found")
        return views.number(row)

    @post(
        "/{number_id:str}/attach",
        status_code=200,
        summary="Route a number to a Speech Pipe",
        description="404 when the number is not in this project; 422 when the pipe is not.",
        responses=responses(*WRITE, 404, 409, 422),
    )
    async def attach(
        self,
        principal: PrincipalDep,
        number_id: FromPath[str],
        data: JSONBody[dto.NumberAttach],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> dto.Number:
        written = await management.attach_number(principal.project_id, number_id, data.pipe_id, trace=trace)
        return await _read(node, reads, principal.project_id, number_id, written.seq)

    @post(
        "/{number_id:str}/detach",
        status_code=200,
        summary="Stop routing a number to its pipe",
        responses=responses(*WRITE, 404, 409),
    )
    async def detach(
        self,
        principal: PrincipalDep,
        number_id: FromPath[str],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> dto.Number:
        written = await management.detach_number(principal.project_id, number_id, trace=trace)
        return await _read(node, reads, principal.project_id, number_id, written.seq)

    @delete("/{number_id:str}", summary="Release a number from the project", responses=responses(*WRITE, 404, 409))
    async def release(
        self,
        principal: PrincipalDep,
        number_id: FromPath[str],
        management: ManagementDep,
        node: NodeDep,
        trace: TraceDep,
    ) -> None:
        written = await management.release_number(principal.project_id, number_id, trace=trace)
        await node.caught_up(written.seq)
