"""Builds the Litestar application around a started :class:`api.node.Node`."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api import deps
from api.controllers.api_keys import ApiKeyController
from api.controllers.health import HealthController
from api.controllers.numbers import NumberController
from api.controllers.pipes import PipeController
from api.controllers.trunks import TrunkController
from api.controllers.voice_profiles import VoiceProfileController
from api.errors import HANDLERS
from api.node import Node

API_VERSION = "0.1.0"


def create_app(node: Node) -> Litestar:
    return Litestar(
        route_handlers=[
            HealthController,
            VoiceProfileController,
            PipeController,
            NumberController,
            TrunkController,
            ApiKeyController,
        ],
        dependencies={
            "node": Provide(deps.provide_node),
            "management": Provide(deps.provide_management),
            "reads": Provide(deps.provide_reads),
            "principal": Provide(deps.provide_principal),
            "trace": Provide(deps.provide_trace),
        },
        state=State({"node": node}),
        exception_handlers=HANDLERS,
        request_max_body_size=1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="Unpod Speech Stack",
            version=API_VERSION,
            description="Management API: voice profiles, Speech Pipes, numbers, trunks, API keys.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={"BearerAuth": SecurityScheme(type="http", scheme="bearer", description="An API key")}
            ),
            security=[{"BearerAuth": []}],
        ),
        debug=False,
    )
