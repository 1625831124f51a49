from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from actors.errors import NotFound
from api import dto, views
from api.deps import ManagementDep, NodeDep, PrincipalDep, ReadsDep, TraceDep
from api.errors import READ, READ_ONE, WRITE, responses
from api.node import Node
from bus_contracts.events import PipeConfig
from projections.read_model import ReadModel


async def _read(node: Node, reads: ReadModel, project_id: str, pipe_id: str, seq: int) -> dto.Pipe:
    await node.caught_up(seq)
    row = await reads.pipe(project_id, pipe_id)
    if row is None:
        raise NotFound("pipe not found")
    return views.pipe(row)


class PipeController(Controller):
    path = "/v1/pipes"
    security = [{"BearerAuth": []}]
    tags = ["pipes"]

    @get(summary="List the project's Speech Pipes", responses=READ)
    async def list_pipes(self, principal: PrincipalDep, reads: ReadsDep) -> dto.PipeList:
        return dto.PipeList(data=[views.pipe(r) for r in await reads.pipes(principal.project_id)])

    @post(summary="Create a Speech Pipe", responses=responses(*WRITE, 422))
    async def create_pipe(
        self,
        principal: PrincipalDep,
        data: JSONBody[dto.PipeCreate],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> dto.Pipe:
        config = PipeConfig(
            name=data.name,
            voice_profile_id=data.voice_profile,
            agent_id=data.agent_id,
            agent_endpoint=data.agent_endpoint,
            recording=data.recording,
            max_call_duration_s=data.max_call_duration_s,
            first_speaker=data.first_speaker,
            barge_in_min_speech_s=data.barge_in_min_speech_s,
        )
        written = await management.create_pipe(principal.project_id, config, trace=trace)
        return await _read(node, reads, principal.project_id, written.id, written.seq)

    @get("/{pipe_id:str}", summary="Get a Speech Pipe", responses=READ_ONE)
    async def get_pipe(self, principal: PrincipalDep, pipe_id: FromPath[str], reads: ReadsDep) -> dto.Pipe:
        row = await reads.pipe(principal.project_id, pipe_id)
        if row is None:
            raise NotFound("pipe not found")
        return views.pipe(row)

    @patch("/{pipe_id:str}", summary="Change some fields of a Speech Pipe", responses=responses(*WRITE, 404, 422))
    async def update_pipe(
        self,
        principal: PrincipalDep,
        pipe_id: FromPath[str],
        data: JSONBody[dto.PipeUpdate],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> dto.Pipe:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if "voice_profile" in changes:
            changes["voice_profile_id"] = changes.pop("voice_profile")
        written = await management.update_pipe(principal.project_id, pipe_id, changes, trace=trace)
        return await _read(node, reads, principal.project_id, pipe_id, written.seq)

    @delete(
        "/{pipe_id:str}",
        summary="Delete a Speech Pipe",
        description="Refused with 409 while numbers are attached: detach them first so no call is routed to a deleted pipe.",
        responses=responses(*WRITE, 404, 409),
    )
    async def delete_pipe(
        self,
        principal: PrincipalDep,
        pipe_id: FromPath[str],
        management: ManagementDep,
        node: NodeDep,
        reads: ReadsDep,
        trace: TraceDep,
    ) -> None:
        # Numbers this node's read model sees routed here, so the delete can check them at their source.
        hint = tuple(n["number_id"] for n in await reads.numbers(principal.project_id, pipe_id=pipe_id))
        written = await management.delete_pipe(principal.project_id, pipe_id, attached_hint=hint, trace=trace)
        await node.caught_up(written.seq)
