"""HTTP API of agenticos: agents, heartbeats and tasks."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from noa_agenticos.payloads import (
    InvalidPayload,
    agent_uuid,
    parse_completion,
    parse_registration,
    parse_task,
)
from noa_agenticos.registry import AgentRegistry, TooManyAgents
from noa_agenticos.task_board import AlreadyCompleted, QueueFull, TaskBoard, UnknownAgent
from noa_agenticos.tokens import AgentTokens, bearer_token
from noa_common.metrics import Metrics


async def read_json(request: Request) -> Any:
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "body must be valid JSON") from None


def path_uuid(request: Request, key: str, what: str) -> str:
    value = agent_uuid(request.path_params[key])
    if value is None:
        raise HTTPException(404, f"{what} not found")
    return value


def check_agent_token(request: Request, tokens: AgentTokens, agent_id: str, required: bool) -> None:
    """401 unless the request may act for ``agent_id``: a sent token is always verified; none is
    accepted only while tokens are not required (FEATURE_AGENT_TOKENS off)."""
    token = bearer_token(request.headers.get("authorization"))
    challenge = {"WWW-Authenticate": "Bearer"}
    if token is None:
        if required:
            raise HTTPException(401, "this agent's token is required (Authorization: Bearer)", challenge)
        return
    problem: str | None = "the Authorization header must be 'Bearer <token>'"
    if token:
        problem = tokens.problem(token, agent_id)
    if problem is not None:
        raise HTTPException(401, problem, challenge)


def agent_routes(registry: AgentRegistry, metrics: Metrics, tokens: AgentTokens,
                 tokens_required: bool = False) -> list[Route]:
    registrations = metrics.counter("agenticos_registrations_total", "Agent registrations.", ("created",))
    heartbeats = metrics.counter("agenticos_heartbeats_total", "Agent heartbeats accepted.")

    async def register(request: Request) -> JSONResponse:
        try:
            registration = parse_registration(await read_json(request))
        except InvalidPayload as error:
            raise HTTPException(422, str(error)) from None
        try:
            registered = await registry.register(registration)
        except TooManyAgents as error:
            raise HTTPException(409, str(error)) from None
        registrations.labels(created=str(registered.created).lower()).inc()
        agent = await registry.get(registered.agent_id)
        body = {**(agent or {}), "created": registered.created, "token": tokens.issue(registered.agent_id)}
        return JSONResponse(body, status_code=201,
                            headers={"Location": f"/agents/{registered.agent_id}"})

    async def heartbeat(request: Request) -> JSONResponse:
        agent_id = path_uuid(request, "agent_id", "agent")
        check_agent_token(request, tokens, agent_id, tokens_required)
        agent = await registry.heartbeat(agent_id)
        if agent is None:
            raise HTTPException(404, "agent not found")
        heartbeats.inc()
        return JSONResponse(agent)

    async def read(request: Request) -> JSONResponse:
        agent = await registry.get(path_uuid(request, "agent_id", "agent"))
        if agent is None:
            raise HTTPException(404, "agent not found")
        return JSONResponse(agent)

    async def index(_request: Request) -> JSONResponse:
        return JSONResponse({"agents": await registry.all()})

    return [
        Route("/agents", register, methods=["POST"]),
        Route("/agents", index, methods=["GET"]),
        Route("/agents/{agent_id}", read, methods=["GET"]),
        Route("/agents/{agent_id}/heartbeat", heartbeat, methods=["POST"]),
    ]


def task_routes(registry: AgentRegistry, board: TaskBoard, metrics: Metrics,
                swarm: bool = True) -> list[Route]:
    """``swarm`` (FEATURE_AGENT_SWARM): a task without agent_id goes to the least-loaded online agent;
    off, it stays pending until an operator names the agent."""
    created = metrics.counter("agenticos_tasks_created_total", "Tasks created, by whether an agent got them.",
                              ("assigned",))

    async def create(request: Request) -> JSONResponse:
        try:
            task_request = parse_task(await read_json(request))
        except InvalidPayload as error:
            raise HTTPException(422, str(error)) from None
        online = [] if task_request.agent_id or not swarm else await registry.online_ids()
        try:
            task = await board.create(task_request, online)
        except UnknownAgent as error:
            raise HTTPException(422, str(error)) from None
        except QueueFull as error:
            raise HTTPException(503, str(error), {"Retry-After": "5"}) from None
        created.labels(assigned=str(task["agent_id"] is not None).lower()).inc()
        return JSONResponse(task, status_code=201, headers={"Location": f"/tasks/{task['id']}"})

    async def read(request: Request) -> JSONResponse:
        task = await board.get(path_uuid(request, "task_id", "task"))
        if task is None:
            raise HTTPException(404, "task not found")
        return JSONResponse(task)

    async def complete(request: Request) -> JSONResponse:
        task_id = path_uuid(request, "task_id", "task")
        try:
            result = parse_completion(await read_json(request))
            task = await board.complete(task_id, result)
        except InvalidPayload as error:
            raise HTTPException(422, str(error)) from None
        except AlreadyCompleted as error:
            raise HTTPException(409, str(error)) from None
        if task is None:
            raise HTTPException(404, "task not found")
        return JSONResponse(task)

    return [
        Route("/tasks", create, methods=["POST"]),
        Route("/tasks/{task_id}", read, methods=["GET"]),
        Route("/tasks/{task_id}/complete", complete, methods=["POST"]),
    ]
