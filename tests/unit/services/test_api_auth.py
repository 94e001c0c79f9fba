"""Who gets past each service's door, before any database is needed: the apps as the factories
build them (no lifespan: nothing connects), and the MCP SDK's verifier over the shared API keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from noa_common.api_keys import ApiKeys, parse_clients
from noa_mcp.mcp_server import TOOLS_SCOPE, ApiKeyVerifier

from .helpers import CLAUDE_FLOW_KEY, OPERATOR_KEY, SECRETS, bearer

KEYS = ApiKeys(parse_clients(SECRETS["API_CLIENTS"]))
ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, TestClient]]:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    modules = {"mcp": "noa_mcp.app", "claude-flow": "noa_flow.app", "agenticos": "noa_agenticos.app"}
    yield {name: TestClient(__import__(module, fromlist=["create_app"]).create_app(),
                            raise_server_exceptions=False)
           for name, module in modules.items()}


def test_the_verifier_gives_the_tools_scope_to_its_clients_only() -> None:
    verifier = ApiKeyVerifier(KEYS)
    for key, client in ((OPERATOR_KEY, "operator"), (CLAUDE_FLOW_KEY, "claude-flow")):
        token = asyncio.run(verifier.verify_token(key))
        assert token is not None and (token.client_id, token.scopes) == (client, [TOOLS_SCOPE])
    assert asyncio.run(verifier.verify_token(OPERATOR_KEY[:-1])) is None
    assert asyncio.run(verifier.verify_token("")) is None
    only_operator = ApiKeyVerifier(KEYS, allowed=("operator",))
    known = asyncio.run(only_operator.verify_token(CLAUDE_FLOW_KEY))
    assert known is not None and known.scopes == []  # the SDK answers 403 insufficient_scope


def test_mcp_refuses_a_caller_without_a_key_through_the_sdk(apps: dict[str, TestClient]) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Host": "mcp"}
    anonymous = apps["mcp"].post("/mcp", json=body, headers=headers)
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    forged = apps["mcp"].post("/mcp", json=body, headers={**headers, **bearer(OPERATOR_KEY + "x")})
    assert forged.status_code == 401


@pytest.mark.parametrize(("service", "method", "path"), [
    ("claude-flow", "GET", "/workflows"), ("claude-flow", "POST", "/workflows"),
    ("claude-flow", "GET", f"/workflows/{ID}"),
    ("agenticos", "GET", "/agents"), ("agenticos", "POST", "/tasks"),
    ("agenticos", "POST", f"/agents/{ID}/heartbeat"), ("agenticos", "POST", f"/tasks/{ID}/complete"),
    ("agenticos", "GET", f"/tasks/{ID}"), ("agenticos", "GET", f"/agents/{ID}"),
])
def test_anonymous_is_401_and_claude_flow_s_key_403(apps: dict[str, TestClient], service: str, method: str,
                                                    path: str) -> None:
    client = apps[service]
    anonymous = client.request(method, path, json={} if method == "POST" else None)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    body = {} if method == "POST" else None
    misused = client.request(method, path, json=body, headers=bearer(CLAUDE_FLOW_KEY))
    assert misused.status_code == 403, misused.text


def test_health_and_metrics_stay_open(apps: dict[str, TestClient]) -> None:
    for client in apps.values():
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200
