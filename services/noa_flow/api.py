"""HTTP API of claude-flow: create, read and list workflows, for the operator's API key alone."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from noa_common.api_keys import OPERATOR
from noa_common.callers import require_client
from noa_common.service_app import ServiceRuntime
from noa_flow import job_queue
from noa_flow.model import COMPLETED, FAILED, PENDING, RUNNING
from noa_flow.signature import with_signature
from noa_flow.store import WorkflowStore
from noa_flow.workflow_request import InvalidRequest, parse_workflow_request

STATUSES = (PENDING, RUNNING, COMPLETED, FAILED)
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 500


async def read_json(request: Request) -> Any:
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "body must be valid JSON") from None


def list_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIST_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(422, "limit must be an integer") from None
    return max(1, min(value, MAX_LIST_LIMIT))


def workflow_routes(runtime: ServiceRuntime, store: WorkflowStore) -> list[Route]:
    settings = runtime.settings
    max_steps = settings.integer("CLAUDE_FLOW_MAX_STEPS")
    max_queued = settings.integer("CLAUDE_FLOW_MAX_WORKFLOWS")
    secret = settings.text("SESSION_SECRET")

    async def create(request: Request) -> JSONResponse:
        """Queue a workflow of MCP tool and LLM steps (operator key); 202 with its id."""
        require_client(request, OPERATOR)
        try:
            workflow = parse_workflow_request(await read_json(request), max_steps=max_steps)
        except InvalidRequest as error:
            raise HTTPException(422, str(error)) from None
        queued = await job_queue.depth(runtime.redis)
        if queued >= max_queued:
            detail = f"{queued} workflows are queued (CLAUDE_FLOW_MAX_WORKFLOWS); retry later"
            raise HTTPException(503, detail, {"Retry-After": "5"})
        workflow_id = await store.create(workflow)
        try:
            await job_queue.enqueue(runtime.redis, workflow_id)
        except Exception:
            # Not queued means never run: do not leave a pending workflow nobody will pick up.
            await store.delete(workflow_id)
            raise
        return JSONResponse({"id": workflow_id, "status": PENDING}, status_code=202,
                            headers={"Location": f"/workflows/{workflow_id}"})

    async def read(request: Request) -> JSONResponse:
        """Read a workflow with its steps' results, signed (operator key)."""
        require_client(request, OPERATOR)
        workflow = await store.get(request.path_params["workflow_id"])
        if workflow is None:
            raise HTTPException(404, "workflow not found")
        return JSONResponse(with_signature(secret, json.loads(json.dumps(workflow, default=str))))

    async def index(request: Request) -> JSONResponse:
        """List recent workflows, by status and limit (operator key)."""
        require_client(request, OPERATOR)
        status = request.query_params.get("status")
        if status is not None and status not in STATUSES:
            raise HTTPException(422, f"status must be one of {', '.join(STATUSES)}")
        workflows = await store.recent(status, list_limit(request.query_params.get("limit")))
        return JSONResponse({"workflows": workflows})

    return [
        Route("/workflows", create, methods=["POST"]),
        Route("/workflows", index, methods=["GET"]),
        Route("/workflows/{workflow_id}", read, methods=["GET"]),
    ]
