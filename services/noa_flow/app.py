"""The claude-flow app factory: ``uvicorn --factory noa_flow.app:create_app``."""

from __future__ import annotations

from starlette.applications import Starlette

from noa_common.env_catalogue import CLAUDE_FLOW
from noa_common.service_app import ServiceParts, ServiceRuntime, ServiceSpec, build_app
from noa_flow.api import workflow_routes
from noa_flow.llama_caller import LlamaCompleter, route_steps
from noa_flow.mcp_caller import McpToolCaller
from noa_flow.store import WorkflowStore
from noa_flow.worker import FlowWorkers

TABLES = ("noa_agents.workflows", "noa_agents.workflow_steps")


def attach(runtime: ServiceRuntime) -> ServiceParts:
    store = WorkflowStore(runtime.postgres)
    timeout = runtime.settings.number("CLAUDE_FLOW_EXECUTION_TIMEOUT")
    settings = runtime.settings
    caller = McpToolCaller(runtime.mcp_url, timeout, api_key=settings.text("CLAUDE_FLOW_API_KEY"))
    # llama is optional: readiness does not check it, so workflows without llm steps run while it
    # is down or not deployed; an llm step then fails its attempts like an unreachable tool.
    completer = LlamaCompleter(settings.text("LLAMA_URL"), timeout, api_key=settings.text("LLAMA_API_KEY"))
    workers = FlowWorkers(runtime, store, route_steps(caller.call, completer))
    # Workers start only after startup: a worker without its tables would fail every job.
    return ServiceParts(routes=workflow_routes(runtime, store), on_started=workers.start)


SPEC = ServiceSpec(name=CLAUDE_FLOW, tables=TABLES, needs_mcp=True, attach=attach)


def create_app() -> Starlette:
    return build_app(SPEC)
