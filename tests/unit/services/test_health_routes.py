"""The health routes and /metrics on a Starlette app, with fake dependency checks."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from noa_common.health import Check
from noa_common.health_routes import HealthContext, health_routes
from noa_common.metrics import Metrics, RequestMetricsMiddleware
from noa_common.settings import SettingProblem
from noa_common.startup import StartupState


async def answers() -> None:
    return None


async def hangs() -> None:
    await asyncio.sleep(5)


def client(
    checks: list[Check], started: bool = True, problems: tuple[SettingProblem, ...] = (),
    details: bool = True,
) -> TestClient:
    state = StartupState()
    if started:
        state.mark_done()
    else:
        state.waiting("schema not present")
    metrics = Metrics("mcp")
    ctx = HealthContext("mcp", checks, 0.2, state, metrics, problems, shows_details=lambda _r: details)
    middleware = [Middleware(RequestMetricsMiddleware, metrics=metrics)]
    app = Starlette(routes=health_routes(ctx), middleware=middleware)
    return TestClient(app)


def test_liveness_never_checks_dependencies() -> None:
    response = client([Check("postgres", hangs)], started=False).get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"]) == ("ok", "mcp")
    assert body["timestamp"].endswith("Z")
    assert response.headers["cache-control"] == "no-store"


def test_ready_200_when_all_checks_answer() -> None:
    response = client([Check("postgres", answers), Check("redis", answers)]).get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "redis"}
    assert all(check["ok"] for check in body["checks"].values())


def test_ready_503_on_timeout_names_the_check() -> None:
    response = client([Check("postgres", answers), Check("redis", hangs)]).get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["redis"]["error"] == "timeout"
    assert body["checks"]["postgres"]["ok"] is True


async def refused() -> None:
    raise ConnectionRefusedError("connect to 10.0.3.7:5432 refused")


def test_an_anonymous_caller_sees_which_checks_failed_not_why() -> None:
    """The error names an address: it goes to callers with a key and to the log, not to anyone."""
    checks = [Check("postgres", refused), Check("redis", answers)]
    anonymous = client(checks, details=False).get("/health/ready")
    assert anonymous.status_code == 503
    assert anonymous.json()["checks"] == {"postgres": {"ok": False}, "redis": {"ok": True}}
    assert "10.0.3.7" not in anonymous.text
    detailed = client(checks).get("/health/ready")
    assert "10.0.3.7" in detailed.json()["checks"]["postgres"]["error"]


def test_an_anonymous_caller_is_not_told_why_startup_waits() -> None:
    waiting = client([Check("postgres", answers)], started=False, details=False)
    assert waiting.get("/health/startup").json()["reason"] == "not started yet"
    assert "schema" not in waiting.get("/health/ready").text


def test_failing_checks_are_logged_when_they_change(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="noa.health")
    failing = client([Check("postgres", refused)], details=False)
    for _ in range(3):
        failing.get("/health/ready")
    logged = [r for r in caplog.records if r.getMessage() == "readiness check failed"]
    assert len(logged) == 1 and "10.0.3.7" in logged[0].error  # type: ignore[attr-defined]


def test_ready_503_until_started() -> None:
    response = client([Check("postgres", answers)], started=False).get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["startup"]["error"] == "schema not present"


def test_startup_tiers() -> None:
    waiting = client([], started=False).get("/health/startup")
    assert waiting.status_code == 503
    assert waiting.json()["status"] == "starting"
    assert client([], started=True).get("/health/startup").json()["status"] == "ok"


def test_invalid_settings_fail_readiness_without_dialing() -> None:
    problems = (SettingProblem("MCP_PORT", "'abc' is not an integer"),)
    response = client([Check("postgres", hangs)], problems=problems).get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "settings": {"ok": False, "latency_ms": 0.0, "error": "invalid settings: MCP_PORT"}}


def test_metrics_count_requests_by_route_and_checks() -> None:
    test_client = client([Check("postgres", answers), Check("redis", hangs)])
    test_client.get("/health/ready")
    test_client.get("/nope")
    text = test_client.get("/metrics").text
    assert 'http_requests_total{method="GET",path="/health/ready",status="503"} 1.0' in text
    assert 'http_requests_total{method="GET",path="<unmatched>",status="404"} 1.0' in text
    assert 'health_check_total{check="redis",status="fail"} 1.0' in text
    assert 'health_check_total{check="postgres",status="ok"} 1.0' in text
    assert 'health_check_duration_seconds_count{check="redis"} 1.0' in text


def test_metrics_route_absent_when_disabled() -> None:
    metrics = Metrics("mcp")
    ctx = HealthContext("mcp", [], 0.2, StartupState(), metrics, metrics_enabled=False)
    assert TestClient(Starlette(routes=health_routes(ctx))).get("/metrics").status_code == 404
