"""What a browser loads: the web SDK (``/sdk/unpod-web.js``) and the demo page (``/demo``).

``/demo`` gets its session token from ``POST /demo/token``, which exists only while the
stack runs a demo pipe (``unpod up --demo``) and answers only requests from this machine:
the page has no API key, so the token endpoint must not be reachable from elsewhere.
"""

from __future__ import annotations

from importlib import resources

import msgspec
from litestar import Controller, Request, Response, get, post

from actors.errors import NotFound
from api.deps import NodeDep
from api.errors import responses

_STATIC = resources.files("api") / "static"
_LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}


class DemoToken(msgspec.Struct, kw_only=True):
    token: str
    expires_at: float
    pipe_id: str


class WebController(Controller):
    tags = ["web"]

    @get("/sdk/unpod-web.js", summary="The web SDK (an ES module exporting UnpodSession)", include_in_schema=False)
    async def sdk(self) -> Response[bytes]:
        return Response(
            (_STATIC / "unpod-web.js").read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    @get("/demo", summary="Talk to the demo agent from this browser", include_in_schema=False)
    async def demo(self) -> Response[bytes]:
        return Response((_STATIC / "demo.html").read_bytes(), media_type="text/html; charset=utf-8")

    @post("/demo/token", status_code=200, summary="A session token for the demo pipe (this machine only)",
          responses=responses(404))  # fmt: skip
    async def demo_token(self, request: Request, node: NodeDep) -> DemoToken:
        client = request.client.host if request.client else ""
        # Loopback by address and by name: a request relayed from elsewhere by a local
        # proxy or tunnel, or sent by a page of another site (DNS rebinding), names
        # another host or origin.
        host = request.url.hostname or ""
        origin = request.headers.get("origin")
        same_origin = origin is None or origin.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:"))
        if node.demo_pipe is None or client not in _LOOPBACK or host not in _LOOPBACK or not same_origin:
            raise NotFound("no demo is running here (start the stack with `unpod up --demo`)")
        project_id, pipe_id = node.demo_pipe
        token, expires_at = await node.session_tokens.issue(project_id, pipe_id, {"source": "demo"})
        return DemoToken(token=token, expires_at=expires_at, pipe_id=pipe_id)
