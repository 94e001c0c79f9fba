"""The mcp app factory: ``uvicorn --factory noa_mcp.app:create_app``."""

from __future__ import annotations

from starlette.applications import Starlette

from noa_common.env_catalogue import MCP
from noa_common.rules import split_list
from noa_common.service_app import ServiceParts, ServiceRuntime, ServiceSpec, build_app
from noa_mcp.mcp_server import build_mcp_server, mcp_routes

TABLES = ("noa_memory.memories", "noa_agents.agents")


def attach(runtime: ServiceRuntime) -> ServiceParts:
    server = build_mcp_server(runtime)
    routes = mcp_routes(server, split_list(runtime.settings.text("CORS_ORIGIN")))
    return ServiceParts(routes=routes, context=server.session_manager.run)


SPEC = ServiceSpec(name=MCP, tables=TABLES, attach=attach)


def create_app() -> Starlette:
    return build_app(SPEC)
