"""A whole service app built from the environment, exercised without its lifespan (no connections)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from noa_common.server import build_config, drain_timeout, shutdown_grace

from .helpers import OPERATOR, SECRETS

pytestmark = pytest.mark.usefixtures("restore_root_logger")


@pytest.mark.parametrize(
    ("module", "service", "paths"),
    [
        ("noa_mcp.app", "mcp", {"/mcp"}),
        ("noa_flow.app", "claude-flow", {"/workflows", "/workflows/{workflow_id}"}),
        ("noa_agenticos.app", "agenticos", {"/agents", "/agents/{agent_id}", "/agents/{agent_id}/heartbeat",
                                            "/tasks", "/tasks/{task_id}", "/tasks/{task_id}/complete"}),
    ],
)
def test_factories_build_apps_with_health_and_service_routes(
    module: str, service: str, paths: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    app = __import__(module, fromlist=["create_app"]).create_app()
    routes = {getattr(route, "path", "") for route in app.routes}
    assert {"/health", "/health/ready", "/health/startup", "/metrics"} <= routes
    assert paths <= routes
    assert app.state.runtime.settings.service == service


def test_invalid_settings_keep_liveness_and_fail_startup(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from noa_common.service_app import build_app
    from noa_mcp.app import SPEC

    app = build_app(SPEC, {**SECRETS, "DB_POOL_MAX": "0"})
    logged = capsys.readouterr().out
    assert '"variable": "DB_POOL_MAX"' in logged and '"level": "error"' in logged
    assert SECRETS["MCP_POSTGRES_PASSWORD"] not in logged
    with TestClient(app) as client:  # lifespan runs; invalid settings mean nothing is dialled
        assert client.get("/health").status_code == 200
        startup = client.get("/health/startup", headers=OPERATOR)
        assert startup.status_code == 503
        assert startup.json()["reason"] == "invalid settings: DB_POOL_MAX"
        assert client.get("/health/startup").json()["reason"] == "not started yet"  # anonymous
        assert client.get("/health/ready").status_code == 503


def test_server_config_reads_port_and_grace() -> None:
    config = build_config("claude-flow", "noa_flow.app:create_app",
                          {"CLAUDE_FLOW_PORT": "19100", "SHUTDOWN_GRACE_SECONDS": "20"})
    assert (config.host, config.port, config.factory) == ("0.0.0.0", 19100, True)
    assert config.timeout_graceful_shutdown == 10
    assert config.log_config is None


def test_shutdown_grace_tolerates_bad_values() -> None:
    assert shutdown_grace({}) == 10
    assert shutdown_grace({"SHUTDOWN_GRACE_SECONDS": "soon"}) == 10
    assert drain_timeout(1) == 1 and drain_timeout(10) == 5


def _settings_app(environ: dict[str, str]) -> TestClient:
    from noa_common.service_app import build_app
    from noa_flow.app import SPEC

    return TestClient(build_app(SPEC, {**SECRETS, **environ}))


def test_settings_show_the_operator_what_the_service_parsed_and_no_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = _settings_app({"CLAUDE_FLOW_MAX_STEPS": "7", "CORS_ORIGIN": "https://ops.example",
                            "DB_POOL_MAX": "0"})
    reply = client.get("/settings", headers=OPERATOR)
    assert reply.status_code == 200
    body = reply.json()
    assert body["service"] == "claude-flow"
    assert body["settings"]["CLAUDE_FLOW_MAX_STEPS"] == 7
    assert body["settings"]["CORS_ORIGIN"] == "https://ops.example"
    assert body["problems"] == ["DB_POOL_MAX"] and body["settings"]["DB_POOL_MAX"] != 0
    shown = reply.text + capsys.readouterr().out
    for name, value in SECRETS.items():
        assert name not in body["settings"] and value not in shown, name
    logged = [line for line in shown.splitlines() if '"msg": "settings"' in line]
    assert len(logged) == 1 and '"CLAUDE_FLOW_MAX_STEPS": 7' in logged[0]


def test_settings_are_for_the_operator_alone() -> None:
    from .helpers import CLAUDE_FLOW_KEY, OPERATOR_KEY, bearer

    client = _settings_app({})
    assert client.get("/settings").status_code == 401
    assert client.get("/settings", headers=bearer(OPERATOR_KEY[:-1])).status_code == 401
    assert client.get("/settings", headers=bearer(CLAUDE_FLOW_KEY)).status_code == 403
    assert client.post("/settings", headers=OPERATOR, json={}).status_code == 405
