"""The agenticos app factory: ``uvicorn --factory noa_agenticos.app:create_app``."""

from __future__ import annotations

from starlette.applications import Starlette

from noa_agenticos.api import agent_routes, task_routes
from noa_agenticos.registry import AgentRegistry
from noa_agenticos.tasks import TaskBoard
from noa_common.env_catalogue import AGENTICOS
from noa_common.service_app import ServiceParts, ServiceRuntime, ServiceSpec, build_app

TABLES = ("noa_agents.agents", "noa_agents.tasks")


def attach(runtime: ServiceRuntime) -> ServiceParts:
    settings = runtime.settings
    registry = AgentRegistry(runtime.postgres, runtime.redis,
                             default_ttl=settings.integer("AGENTICOS_HEARTBEAT_TTL"),
                             max_agents=settings.integer("AGENTICOS_MAX_AGENTS"))
    board = TaskBoard(runtime.postgres)
    routes = [*agent_routes(registry, runtime.metrics), *task_routes(registry, board, runtime.metrics)]
    return ServiceParts(routes=routes)


SPEC = ServiceSpec(name=AGENTICOS, tables=TABLES, needs_mcp=True, attach=attach)


def create_app() -> Starlette:
    return build_app(SPEC)
