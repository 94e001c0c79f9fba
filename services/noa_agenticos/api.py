"""HTTP API of agenticos: agents, heartbeats and tasks, each owned by someone.

The operator's API key registers new agents, lists them, and creates and assigns tasks; an
agent's token (issued at its registration) sends its heartbeats, completes the tasks assigned to
it and registers it again. Anything else is 401 (no valid credentials) or 403 (someone else's)."""

from __future__ import annotations

from dataclasses import dataclass
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
from noa_agenticos.registry import AgentRegistry, NotAllowed, Registrant, TooManyAgents
from noa_agenticos.task_board import AlreadyCompleted, QueueFull, TaskBoard, UnknownAgent
from noa_agenticos.tokens import AgentTokens
from noa_common.api_keys import OPERATOR, bearer_token
from noa_common.callers import forbidden, identify_client, unauthenticated
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


@dataclass(frozen=True)
class Caller:
    """Who calls: an API client (the operator) by its key, or an agent by the token it was issued."""

    client: str | None = None
    agent_id: str | None = None

    @property
    def operator(self) -> bool:
        return self.client == OPERATOR


def identify(request: Request, tokens: AgentTokens) -> Caller:
    """401 without credentials, or with a key or token that is not valid (an expired agent token too)."""
    header = request.headers.get("authorization")
    token = bearer_token(header)
    if token is None:
        raise unauthenticated("credentials required: the operator's API key or the agent's token")
    agent_id = tokens.agent_of(token) if token else None
    if agent_id is not None:
        return Caller(agent_id=agent_id)
    return Caller(client=identify_client(request))


def require_operator(caller: Caller, what: str) -> None:
    if not caller.operator:
        raise forbidden(f"{what} needs the operator's API key")


def require_agent(caller: Caller, agent_id: str | None, what: str) -> None:
    if agent_id is None or caller.agent_id != agent_id:
        raise forbidden(f"{what} needs the token of agent {agent_id or '(none assigned)'}")


def agent_routes(registry: AgentRegistry, metrics: Metrics, tokens: AgentTokens) -> list[Route]:
    registrations = metrics.counter("agenticos_registrations_total", "Agent registrations.", ("created",))
    heartbeats = metrics.counter("agenticos_heartbeats_total", "Agent heartbeats accepted.")

    async def register(request: Request) -> JSONResponse:
        """Register an agent (operator key); the answer carries its token."""
        caller = identify(request, tokens)
        if caller.client is not None and not caller.operator:
            raise forbidden(f"{caller.client} may not register agents")
        try:
            registration = parse_registration(await read_json(request))
        except InvalidPayload as error:
            raise HTTPException(422, str(error)) from None
        try:
            registered = await registry.register(
                registration, Registrant(operator=caller.operator, agent_id=caller.agent_id))
        except NotAllowed as error:
            raise forbidden(str(error)) from None
        except TooManyAgents as error:
            raise HTTPException(409, str(error)) from None
        registrations.labels(created=str(registered.created).lower()).inc()
        agent = await registry.get(registered.agent_id)
        body = {**(agent or {}), "created": registered.created, "token": tokens.issue(registered.agent_id)}
        return JSONResponse(body, status_code=201,
                            headers={"Location": f"/agents/{registered.agent_id}"})

    async def heartbeat(request: Request) -> JSONResponse:
        """Mark an agent online (its own token)."""
        caller = identify(request, tokens)
        agent_id = path_uuid(request, "agent_id", "agent")
        require_agent(caller, agent_id, "a heartbeat")
        agent = await registry.heartbeat(agent_id)
        if agent is None:
            raise HTTPException(404, "agent not found")
        heartbeats.inc()
        return JSONResponse(agent)

    async def read(request: Request) -> JSONResponse:
        """Read an agent (operator key or the agent's own token)."""
        caller = identify(request, tokens)
        agent_id = path_uuid(request, "agent_id", "agent")
        if not caller.operator:
            require_agent(caller, agent_id, "reading an agent")
        agent = await registry.get(agent_id)
        if agent is None:
            raise HTTPException(404, "agent not found")
        return JSONResponse(agent)

    async def index(request: Request) -> JSONResponse:
        """List the registered agents (operator key)."""
        require_operator(identify(request, tokens), "listing the agents")
        return JSONResponse({"agents": await registry.all()})

    return [
        Route("/agents", register, methods=["POST"]),
        Route("/agents", index, methods=["GET"]),
        Route("/agents/{agent_id}", read, methods=["GET"]),
        Route("/agents/{agent_id}/heartbeat", heartbeat, methods=["POST"]),
    ]


def task_routes(registry: AgentRegistry, board: TaskBoard, metrics: Metrics, tokens: AgentTokens,
                swarm: bool = True) -> list[Route]:
    """``swarm`` (FEATURE_AGENT_SWARM): a task without agent_id goes to the least-loaded online agent;
    off, it stays pending until an operator names the agent."""
    created = metrics.counter("agenticos_tasks_created_total", "Tasks created, by whether an agent got them.",
                              ("assigned",))

    async def create(request: Request) -> JSONResponse:
        """Create a task, assigned to the named agent or an online one (operator key)."""
        require_operator(identify(request, tokens), "creating or assigning a task")
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
        """Read a task (operator key or the assigned agent's token)."""
        caller = identify(request, tokens)
        if not caller.operator and caller.agent_id is None:
            raise forbidden(f"{caller.client} may not read tasks")
        task = await board.get(path_uuid(request, "task_id", "task"))
        if task is None:
            raise HTTPException(404, "task not found")
        if not caller.operator:
            require_agent(caller, task["agent_id"], "reading a task")
        return JSONResponse(task)

    async def complete(request: Request) -> JSONResponse:
        """Complete a task with its result (the assigned agent's token)."""
        caller = identify(request, tokens)
        if caller.agent_id is None:
            raise forbidden("completing a task needs the token of the agent it is assigned to")
        task_id = path_uuid(request, "task_id", "task")
        assigned = await board.get(task_id)
        if assigned is None:
            raise HTTPException(404, "task not found")
        require_agent(caller, assigned["agent_id"], "completing a task")
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
