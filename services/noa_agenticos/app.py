"""The agenticos app factory: ``uvicorn --factory noa_agenticos.app:create_app``."""

from __future__ import annotations

from starlette.applications import Starlette

from noa_agenticos.api import agent_routes, task_routes
from noa_agenticos.registry import AgentRegistry
from noa_agenticos.task_board import TaskBoard
from noa_agenticos.tokens import AgentTokens
from noa_common.env_catalogue import AGENTICOS
from noa_common.service_app import ServiceParts, ServiceRuntime, ServiceSpec, build_app

TABLES = ("noa_agents.agents", "noa_agents.tasks")


def attach(runtime: ServiceRuntime) -> ServiceParts:
    settings = runtime.settings
    registry = AgentRegistry(runtime.postgres, runtime.redis,
                             default_ttl=settings.integer("AGENTICOS_HEARTBEAT_TTL"),
                             max_agents=settings.integer("AGENTICOS_MAX_AGENTS"))
    board = TaskBoard(runtime.postgres, max_pending=settings.integer("AGENTICOS_TASK_QUEUE_SIZE"))
    tokens = AgentTokens(settings.text("JWT_SECRET"), settings.integer("JWT_EXPIRY"))
    routes = [
        *agent_routes(registry, runtime.metrics, tokens),
        *task_routes(registry, board, runtime.metrics, tokens, swarm=settings.flag("FEATURE_AGENT_SWARM")),
    ]
    return ServiceParts(routes=routes)


SPEC = ServiceSpec(name=AGENTICOS, tables=TABLES, needs_mcp=True, attach=attach)


def create_app() -> Starlette:
    return build_app(SPEC)
