"""Dependencies injected into handlers: the node's services, the caller, the trace."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from actors.management import Management, hash_key, key_id_of
from api.node import Node
from projections.read_model import ReadModel


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, and the project it belongs to."""

    project_id: str
    key_id: str


NodeDep = NamedDependency[Node]
ManagementDep = NamedDependency[Management]
ReadsDep = NamedDependency[ReadModel]
PrincipalDep = NamedDependency[Principal]
TraceDep = NamedDependency[dict[str, str]]


async def provide_node(state: State) -> Node:
    return state.node


async def provide_management(node: NodeDep) -> Management:
    assert node.management is not None
    return node.management


async def provide_reads(node: NodeDep) -> ReadModel:
    assert node.reads is not None
    return node.reads


async def authenticate(reads: ReadModel, token: str) -> Principal | None:
    """The project of a live API key, or None (unknown, revoked, tampered)."""
    key_id = key_id_of(token)
    row = await reads.api_key(key_id) if key_id else None
    if row is None or row["revoked"] or not hmac.compare_digest(row["key_hash"], hash_key(token)):
        return None
    return Principal(project_id=row["project_id"], key_id=key_id)


async def provide_principal(request: Request, reads: ReadsDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("missing API key: send 'Authorization: Bearer <api key>'")
    principal = await authenticate(reads, token.strip())
    if principal is None:
        raise NotAuthorizedException("invalid or revoked API key")
    return principal


async def provide_trace(request: Request) -> dict[str, str]:
    """W3C trace context of the request, carried into every event it causes."""
    trace = {}
    for name in ("traceparent", "tracestate"):
        if value := request.headers.get(name):
            trace[name] = value[:512]
    return trace
