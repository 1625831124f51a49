"""Builds the Litestar application around a started :class:`api.node.Node`."""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.routes import HTTPRoute

from api import deps, dto
from api.controllers.api_keys import ApiKeyController
from api.controllers.calls import CallController, RunnerController
from api.controllers.health import HealthController
from api.controllers.numbers import NumberController
from api.controllers.pipes import PipeController
from api.controllers.recordings import RecordingController
from api.controllers.sessions import SessionController
from api.controllers.trunks import TrunkController
from api.controllers.voice_profiles import VoiceProfileController
from api.controllers.web import WebController
from api.doors.bridge import bridge_socket
from api.doors.client import client_socket, token_socket
from api.doors.control import control_socket
from api.errors import HANDLERS
from api.node import Node

API_VERSION = "0.1.0"


def create_app(node: Node) -> Litestar:
    app = Litestar(
        route_handlers=[
            HealthController,
            VoiceProfileController,
            PipeController,
            NumberController,
            TrunkController,
            ApiKeyController,
            SessionController,
            CallController,
            RecordingController,
            RunnerController,
            control_socket,
            bridge_socket,
            client_socket,
            token_socket,
            WebController,
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
        ),
        debug=False,
    )
    _complete_body_schemas(app)
    _fix_options_allow(app)
    return app


def _complete_body_schemas(app: Litestar) -> None:
    """Make the served schema say everything the body decoder enforces.

    Litestar's generator leaves out two things msgspec checks: that write bodies
    refuse unknown fields (``additionalProperties: false``) and constraints on
    list items (e.g. the E.164 pattern of a trunk's numbers). Copy both from
    msgspec's own JSON Schema of each write body.
    """
    bodies = {
        name: cls
        for name, cls in vars(dto).items()
        if isinstance(cls, type) and issubclass(cls, msgspec.Struct) and cls.__struct_config__.forbid_unknown_fields
    }
    openapi = app.openapi_schema  # built once and cached; what /schema serves
    for name, schema in (openapi.components.schemas or {}).items():
        cls = bodies.get(name.rsplit(".", 1)[-1])
        if cls is None or not isinstance(schema, Schema):
            continue
        schema.additional_properties = False
        (_, defs) = msgspec.json.schema_components([cls])
        for prop, spec in defs[cls.__name__].get("properties", {}).items():
            target = (schema.properties or {}).get(prop)
            items = spec.get("items")
            if isinstance(target, Schema) and isinstance(target.items, Schema) and isinstance(items, dict):
                target.items.pattern = target.items.pattern or items.get("pattern")
                target.items.min_length = target.items.min_length or items.get("minLength")
                target.items.max_length = target.items.max_length or items.get("maxLength")


def _fix_options_allow(app: Litestar) -> None:
    """Litestar 2.x answers OPTIONS with a stale ``Allow`` when a path gets several
    handlers (litestar#4169, fixed in 3.0): the automatic OPTIONS handler closes
    over the first route object built for the path. Point it at the final one."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        for cell in getattr(handler.fn, "__closure__", None) or ():
            stale = cell.cell_contents
            if isinstance(stale, HTTPRoute) and stale is not route:
                stale.methods = route.methods
