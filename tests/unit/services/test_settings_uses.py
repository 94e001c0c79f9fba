"""Each catalogue variable is read by code and changes what the services do."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from noa_agenticos.api import agent_routes, task_routes
from noa_agenticos.payloads import AgentRegistration, TaskRequest
from noa_agenticos.registry import NotAllowed, Registered, Registrant
from noa_agenticos.tokens import AgentTokens
from noa_common.api_keys import ApiKeys, bearer_token, parse_clients
from noa_common.env_catalogue import APP_SERVICES, TASKS, VARIABLES, Category, data_user, password_variable
from noa_common.metrics import Metrics
from noa_common.postgres import PostgresPool
from noa_common.rate_limit import FixedWindowLimiter, RateLimitMiddleware
from noa_common.redis_store import create_redis
from noa_common.server import build_config
from noa_common.service_app import ServiceRuntime, middleware_for
from noa_common.settings import load_settings
from noa_flow.signature import sign, verify, with_signature
from noa_flow.workflow_request import InvalidRequest, parse_workflow_request
from noa_mcp.memory import MemoryLimits, check_content, opened_metadata, sealed_metadata
from noa_mcp.sealing import MetadataSeal, SealError
from noa_ops import catalogue

from .helpers import CLAUDE_FLOW_KEY, OPERATOR, SECRETS, bearer

REPO = Path(__file__).resolve().parents[3]
AGENT = "5f0c6a3e-8a46-4d59-9a0e-9a0d1f3e2b11"
OTHER_AGENT = "0b7e3c1a-2f4d-4e8a-9b6c-1d2e3f4a5b6c"
# Read by something other than Python code: the C library (TZ).
NOT_IN_PYTHON = {"TZ"}
# Read under a name the code computes (env_catalogue.password_variable): the data tier's login of
# each service, which test_each_service_logs_in_as_its_own_user follows to the clients.
DATA_PASSWORDS = {password_variable(service, store)
                  for service in APP_SERVICES for store in ("POSTGRES", "REDIS")}


# -- the catalogue ------------------------------------------------------------------------------

def test_the_catalogue_is_complete_and_categorised() -> None:
    assert len(VARIABLES) >= 50
    assert all(item.category is not None for item in VARIABLES), [i.name for i in VARIABLES if not i.category]
    used = {item.category for item in VARIABLES}
    required = {Category.CORE, Category.PORTS, Category.URLS, Category.POSTGRES, Category.REDIS,
                Category.LLAMA, Category.AUTH, Category.PROVIDERS, Category.OBSERVABILITY,
                Category.PERFORMANCE, Category.FEATURES}
    assert required <= used


def _sources() -> str:
    files = [path for path in (REPO / "services").rglob("*.py") if path.name != "env_catalogue.py"]
    return "\n".join(path.read_text() for path in files)


def _task_sources() -> str:
    return "\n".join(path.read_text() for path in (REPO / "noa_ops").rglob("*.py"))


def _deployment_files() -> str:
    files = [REPO / "docker" / "docker-compose.yml", REPO / "docker" / "Dockerfile"]
    return "\n".join(path.read_text() for path in files if path.exists())


@pytest.mark.parametrize("item", VARIABLES, ids=lambda item: item.name)
def test_every_variable_is_read(item: Any) -> None:
    """App-service variables are named in their code; the others in what feeds their process."""
    if item.name in NOT_IN_PYTHON or item.name in DATA_PASSWORDS:
        return
    if item.services & set(APP_SERVICES):
        assert f'"{item.name}"' in _sources() or item.name in _port_variables(), f"no code reads {item.name}"
    elif item.services == {TASKS}:
        # Read by name in a task, or by the catalogue's derived_from (API_CLIENTS is computed from it).
        derives = any(item.name in other.derived_from for other in VARIABLES)
        assert derives or f'"{item.name}"' in _task_sources(), f"no operator task reads {item.name}"
    else:
        assert "${" + item.name in _deployment_files(), f"nothing passes {item.name} to its service"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_service_logs_in_as_its_own_user(service: str) -> None:
    """Postgres and Redis see the service's own user with its own password, never another's."""
    settings = load_settings(service, SECRETS)
    pool = PostgresPool(settings)._pool_arguments()
    redis = create_redis(settings).connection_pool.connection_kwargs
    user = data_user(service)
    assert (pool["user"], pool["password"]) == (user, SECRETS[password_variable(service, "POSTGRES")])
    assert (redis["username"], redis["password"]) == (user, SECRETS[password_variable(service, "REDIS")])
    others = {SECRETS[password_variable(other, store)] for other in APP_SERVICES if other != service
              for store in ("POSTGRES", "REDIS")}
    assert {pool["password"], redis["password"]}.isdisjoint(others)


def _port_variables() -> set[str]:
    from noa_common.env_catalogue import PORT_VARIABLES

    return set(PORT_VARIABLES.values())


@pytest.mark.parametrize("name", APP_SERVICES)
def test_readiness_checks_are_the_catalogue_dependencies(name: str) -> None:
    import importlib

    module = {"mcp": "noa_mcp.app", "claude-flow": "noa_flow.app", "agenticos": "noa_agenticos.app"}[name]
    spec = importlib.import_module(module).SPEC
    runtime = ServiceRuntime(spec, load_settings(name, SECRETS))
    assert [check.name for check in runtime.checks()] == list(catalogue.get(name).depends_on)


# -- clients and server ---------------------------------------------------------------------------

def test_postgres_pool_timeouts_come_from_settings() -> None:
    env = {**SECRETS, "DB_CONNECT_TIMEOUT": "1.5", "DB_COMMAND_TIMEOUT": "9"}
    pool = PostgresPool(load_settings("mcp", env))
    arguments = pool._pool_arguments()
    assert (arguments["timeout"], arguments["command_timeout"]) == (1.5, 9.0)


def test_redis_tls_and_socket_timeout_come_from_settings() -> None:
    plain = create_redis(load_settings("mcp", SECRETS)).connection_pool.connection_kwargs
    env = {**SECRETS, "REDIS_TLS": "true", "REDIS_SOCKET_TIMEOUT": "7"}
    tls_client = create_redis(load_settings("mcp", env))
    kwargs = tls_client.connection_pool.connection_kwargs
    assert "ssl_cert_reqs" not in plain and plain["socket_timeout"] == 5.0
    assert kwargs["socket_timeout"] == 7.0 and kwargs["ssl_cert_reqs"] == "required"
    assert tls_client.connection_pool.connection_class.__name__ == "SSLConnection"


def test_server_settings_reach_uvicorn() -> None:
    env = {"ACCESS_LOG": "false", "HTTP_MAX_CONCURRENCY": "50", "HTTP_KEEPALIVE_TIMEOUT": "12"}
    config = build_config("mcp", "noa_mcp.app:create_app", env)
    assert (config.access_log, config.limit_concurrency, config.timeout_keep_alive) == (False, 50, 12)
    default = build_config("mcp", "noa_mcp.app:create_app", {"HTTP_MAX_CONCURRENCY": "many"})
    assert (default.access_log, default.limit_concurrency, default.timeout_keep_alive) == (True, None, 5)


# -- CORS and the rate limit --------------------------------------------------------------------

def small_app(service: str, env: dict[str, str]) -> Starlette:
    async def write(_request: Any) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    settings = load_settings(service, {**SECRETS, **env})
    return Starlette(routes=[Route("/things", write, methods=["GET", "POST"])],
                     middleware=middleware_for(settings, Metrics(service)))


def test_cors_origin_allows_only_the_listed_origins() -> None:
    client = TestClient(small_app("agenticos", {"CORS_ORIGIN": "https://ops.example.com, http://127.0.0.1:9200"}))
    allowed = client.get("/things", headers={"Origin": "https://ops.example.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://ops.example.com"
    assert "access-control-allow-origin" not in client.get("/things", headers={"Origin": "https://evil.test"}).headers
    closed = TestClient(small_app("agenticos", {}))
    assert "access-control-allow-origin" not in closed.get("/things", headers={"Origin": "https://ops.example.com"}).headers


def test_rate_limit_applies_to_writes_of_the_write_apis_only() -> None:
    client = TestClient(small_app("claude-flow", {"RATE_LIMIT_MAX": "2", "RATE_LIMIT_WINDOW": "60"}))
    assert [client.post("/things").status_code for _ in range(3)] == [201, 201, 429]
    refused = client.post("/things")
    assert refused.json() == {"error": "too many write requests, retry later"}
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert client.get("/things").status_code == 201  # reads are not limited
    mcp = TestClient(small_app("mcp", {}))  # mcp reads no RATE_LIMIT_* (its /mcp is all POST)
    assert all(mcp.post("/things").status_code == 201 for _ in range(5))


def test_fixed_window_resets_and_counts_per_client() -> None:
    now = [0.0]
    limiter = FixedWindowLimiter(limit=1, window=10, clock=lambda: now[0])
    assert limiter.acquire("a") == 0.0 and limiter.acquire("b") == 0.0
    assert limiter.acquire("a") == 10.0
    now[0] = 10.0
    assert limiter.acquire("a") == 0.0
    assert isinstance(RateLimitMiddleware(small_app("mcp", {}), limiter), RateLimitMiddleware)


# -- agenticos: tokens, swarm assignment, queue size -----------------------------------------------

class FakeRegistry:
    """Registrations by name, with the real registry's ownership rule (noa_agenticos/registry.py)."""

    def __init__(self) -> None:
        self.beats: list[str] = []
        self.names: dict[str, str] = {}

    async def register(self, registration: AgentRegistration, registrant: Registrant) -> Registered:
        existing = self.names.get(registration.name)
        if existing is not None and existing != registrant.agent_id:
            raise NotAllowed(f"agent {registration.name} is registered: only its own token may renew it")
        if existing is None and not registrant.operator:
            raise NotAllowed("registering a new agent needs the operator's API key")
        agent_id = existing or (AGENT if not self.names else OTHER_AGENT)
        self.names[registration.name] = agent_id
        return Registered(agent_id, existing is None, 30)

    async def get(self, agent_id: str) -> dict[str, Any]:
        return {"id": agent_id}

    async def heartbeat(self, agent_id: str) -> dict[str, Any]:
        self.beats.append(agent_id)
        return {"id": agent_id}

    async def online_ids(self) -> list[str]:
        return [AGENT]


class FakeBoard:
    def __init__(self) -> None:
        self.offered: list[list[str]] = []

    async def create(self, request: TaskRequest, online: list[str]) -> dict[str, Any]:
        self.offered.append(online)
        return {"id": "t1", "agent_id": online[0] if online else None}


def agenticos_client(tokens: AgentTokens, swarm: bool = True) -> tuple[TestClient, FakeBoard]:
    registry, board, metrics = FakeRegistry(), FakeBoard(), Metrics("agenticos")
    routes = [*agent_routes(registry, metrics, tokens),  # type: ignore[arg-type]
              *task_routes(registry, board, metrics, tokens, swarm)]  # type: ignore[arg-type]
    app = Starlette(routes=routes)
    app.state.runtime = SimpleNamespace(api_keys=ApiKeys(parse_clients(SECRETS["API_CLIENTS"])))
    return TestClient(app), board


def test_registration_returns_a_token_for_that_agent_only() -> None:
    now = [1000.0]
    tokens = AgentTokens("k" * 40, expiry=60, clock=lambda: now[0])
    client, _ = agenticos_client(tokens)
    token = client.post("/agents", json={"name": "scout"}, headers=OPERATOR).json()["token"]
    assert tokens.problem(token, AGENT) is None
    assert tokens.problem(token, "another-agent") == "the agent token belongs to another agent"
    assert AgentTokens("other" * 8, 60).problem(token, AGENT) == "the agent token is invalid"
    now[0] += 60
    assert "expired" in str(tokens.problem(token, AGENT))
    assert tokens.agent_of(token) is None


def test_registering_needs_the_operator_and_renewing_needs_the_agent_itself() -> None:
    """Takeover refused: an existing name is the agent's own, even to the operator's key."""
    tokens = AgentTokens("k" * 40, expiry=600)
    client, _ = agenticos_client(tokens)
    assert client.post("/agents", json={"name": "scout"}).status_code == 401
    assert client.post("/agents", json={"name": "scout"}, headers=bearer(CLAUDE_FLOW_KEY)).status_code == 403
    first = client.post("/agents", json={"name": "scout"}, headers=OPERATOR)
    assert first.status_code == 201
    scout = first.json()["token"]
    other = client.post("/agents", json={"name": "other"}, headers=OPERATOR).json()["token"]
    assert client.post("/agents", json={"name": "scout"}, headers=OPERATOR).status_code == 403
    assert client.post("/agents", json={"name": "scout"}, headers=bearer(other)).status_code == 403
    assert client.post("/agents", json={"name": "new"}, headers=bearer(scout)).status_code == 403
    renewed = client.post("/agents", json={"name": "scout"}, headers=bearer(scout))
    assert renewed.status_code == 201 and renewed.json()["created"] is False


def test_heartbeats_need_that_agent_s_own_token() -> None:
    now = [1000.0]
    tokens = AgentTokens("k" * 40, expiry=60, clock=lambda: now[0])
    client, _ = agenticos_client(tokens)
    refused = client.post(f"/agents/{AGENT}/heartbeat")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.post(f"/agents/{AGENT}/heartbeat", headers=bearer("nope")).status_code == 401
    assert client.post(f"/agents/{AGENT}/heartbeat", headers=OPERATOR).status_code == 403
    another = bearer(tokens.issue(OTHER_AGENT))
    assert client.post(f"/agents/{AGENT}/heartbeat", headers=another).status_code == 403
    own = bearer(tokens.issue(AGENT))
    assert client.post(f"/agents/{AGENT}/heartbeat", headers=own).status_code == 200
    now[0] += 60
    assert client.post(f"/agents/{AGENT}/heartbeat", headers=own).status_code == 401
    assert bearer_token("Basic abc") == "" and bearer_token(None) is None


def test_tasks_are_created_by_the_operator_alone() -> None:
    tokens = AgentTokens("k" * 40, expiry=60)
    client, board = agenticos_client(tokens)
    assert client.post("/tasks", json={"title": "index"}).status_code == 401
    agent = bearer(tokens.issue(AGENT))
    assert client.post("/tasks", json={"title": "index"}, headers=agent).status_code == 403
    assert client.post("/tasks", json={"title": "index"}, headers=bearer(CLAUDE_FLOW_KEY)).status_code == 403
    assert board.offered == []


def test_agent_swarm_flag_gates_auto_assignment() -> None:
    tokens = AgentTokens("k" * 40, expiry=60)
    swarm, board = agenticos_client(tokens, swarm=True)
    assert swarm.post("/tasks", json={"title": "index"}, headers=OPERATOR).json()["agent_id"] == AGENT
    manual, manual_board = agenticos_client(tokens, swarm=False)
    assert manual.post("/tasks", json={"title": "index"}, headers=OPERATOR).json()["agent_id"] is None
    assert board.offered == [[AGENT]] and manual_board.offered == [[]]


def test_agenticos_reads_its_flags_and_limits() -> None:
    env = {**SECRETS, "FEATURE_AGENT_SWARM": "off", "AGENTICOS_TASK_QUEUE_SIZE": "5", "JWT_EXPIRY": "120"}
    settings = load_settings("agenticos", env)
    assert settings.valid
    assert settings.flag("FEATURE_AGENT_SWARM") is False
    assert (settings.integer("AGENTICOS_TASK_QUEUE_SIZE"), settings.integer("JWT_EXPIRY")) == (5, 120)


# -- claude-flow: signatures, steps, retry delay ---------------------------------------------------

def test_finished_workflows_carry_a_verifiable_signature() -> None:
    workflow = {"id": "w1", "status": "completed", "result": {"results": [1]}, "error": None, "steps": []}
    signed = with_signature("s" * 40, workflow)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", signed["signature"])
    assert verify("s" * 40, signed["signature"], workflow)
    assert not verify("s" * 40, signed["signature"], {**workflow, "result": {"results": [2]}})
    assert sign("other-key", "w1", "completed", {"results": [1]}, None) != signed["signature"]
    assert with_signature("s" * 40, {**workflow, "status": "running"})["signature"] is None


def test_max_steps_is_a_setting() -> None:
    body = {"name": "n", "steps": [{"tool": "t"}] * 3}
    assert len(parse_workflow_request(body, max_steps=3).steps) == 3
    with pytest.raises(InvalidRequest, match="at most 2 steps"):
        parse_workflow_request(body, max_steps=2)


# -- mcp: sealed metadata and limits -----------------------------------------------------------------

def test_secret_metadata_is_sealed_at_rest_and_opens_only_in_its_namespace() -> None:
    seal = MetadataSeal("ab" * 32)
    stored = sealed_metadata(seal, {"api_token": "tok-123"}, "team-a")
    assert set(stored) == {"sealed"} and "tok-123" not in stored["sealed"]
    assert opened_metadata(seal, stored, "team-a") == {"api_token": "tok-123"}
    wrong_namespace = opened_metadata(seal, stored, "team-b")
    assert wrong_namespace == {"error": "sealed metadata does not open with this ENCRYPTION_KEY"}
    assert opened_metadata(MetadataSeal("cd" * 32), stored, "team-a") is not None
    assert sealed_metadata(seal, None, "team-a") == {} and opened_metadata(seal, {}, "team-a") is None
    with pytest.raises(SealError, match="ENCRYPTION_KEY is not valid"):
        MetadataSeal(None).seal({"a": 1}, "team-a")


def test_memory_limits() -> None:
    check_content("x" * 10, MemoryLimits(max_content_chars=10))
    with pytest.raises(ValueError, match="longer than 10 characters"):
        check_content("x" * 11, MemoryLimits(max_content_chars=10))
    settings = load_settings("mcp", {**SECRETS, "MCP_MEMORY_MAX_CHARS": "10", "MCP_SEARCH_MAX_RESULTS": "3"})
    assert (settings.integer("MCP_MEMORY_MAX_CHARS"), settings.integer("MCP_SEARCH_MAX_RESULTS")) == (10, 3)


def test_cors_origin_rule() -> None:
    problems = {p.variable: p.reason for p in load_settings("mcp", {**SECRETS, "CORS_ORIGIN": "*"}).problems}
    assert "'*'" in problems["CORS_ORIGIN"]
    assert "CORS_ORIGIN" in {p.variable for p in load_settings("mcp", {**SECRETS, "CORS_ORIGIN": "https://a/b"}).problems}


def _scope(address: str, authorization: str | None = None) -> dict[str, Any]:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return {"type": "http", "method": "POST", "client": (address, 40000), "headers": headers}


def test_rate_limits_count_per_client_key_not_per_proxy_address() -> None:
    """Behind the ui proxy every caller has the proxy's address: a key's client is its own bucket;
    without a key (or with a wrong one, or an agent's token) the address is."""
    keys = ApiKeys(parse_clients(SECRETS["API_CLIENTS"]))
    middleware = RateLimitMiddleware(small_app("mcp", {}), FixedWindowLimiter(1, 60), keys)
    operator = OPERATOR["Authorization"]
    assert middleware.bucket(_scope("10.0.0.5", operator)) == "client:operator"
    assert middleware.bucket(_scope("10.0.0.6", operator)) == "client:operator"
    assert middleware.bucket(_scope("10.0.0.5", f"Bearer {CLAUDE_FLOW_KEY}")) == "client:claude-flow"
    assert middleware.bucket(_scope("10.0.0.5", operator + "x")) == "address:10.0.0.5"
    assert middleware.bucket(_scope("10.0.0.5")) == "address:10.0.0.5"


def test_mcp_is_rate_limited_too() -> None:
    settings = load_settings("mcp", SECRETS)
    assert settings.integer("RATE_LIMIT_MAX") == 600
    assert any(m.cls is RateLimitMiddleware for m in middleware_for(settings, Metrics("mcp")))
