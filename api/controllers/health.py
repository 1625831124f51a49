from __future__ import annotations

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api import dto
from api.deps import NodeDep


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", summary="The process is up")
    async def healthz(self) -> dto.Health:
        return dto.Health(status="ok")

    @get(
        "/readyz",
        summary="NATS connected and this node's read model caught up (503 otherwise)",
        responses={503: ResponseSpec(dto.Readiness, description="Not ready", generate_examples=False)},
    )
    async def readyz(self, node: NodeDep) -> Response[dto.Readiness]:
        r = await node.readiness()
        body = dto.Readiness(**r)
        return Response(body, status_code=200 if body.ready else 503)
