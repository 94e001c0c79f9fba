"""Every HTTP service serves the three health tiers; app services serve /metrics."""

from __future__ import annotations

import json

import pytest
from docker.models.containers import Container

from noa_common.settings import load_settings
from noa_ops import catalogue

from .helpers import app_services, base_url, contract_services, get, http, http_services, wait_for


@pytest.mark.parametrize("service", contract_services(), ids=lambda s: s.name)
@pytest.mark.parametrize("tier", list(catalogue.Tier), ids=lambda t: t.value)
def test_health_tier_is_ok(stack: None, service: catalogue.Service, tier: catalogue.Tier) -> None:
    assert service.health is not None
    reply = get(base_url(service.name) + service.health.path(tier))
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["status"] == "ok"
    assert body["service"] == service.name
    assert "timestamp" in body


@pytest.mark.parametrize("tier", list(catalogue.Tier), ids=lambda t: t.value)
def test_llama_health_is_ok_on_every_tier(stack: None, tier: catalogue.Tier) -> None:
    """llama.cpp's one tiered /health (503 while loading) stands for all three tiers; its body is its own."""
    llama = catalogue.get("llama")
    assert llama.health is not None
    reply = get(base_url("llama") + llama.health.path(tier))
    assert reply.status == 200, reply.body
    assert reply.json()["status"] == "ok"


@pytest.mark.parametrize("service", app_services(), ids=lambda s: s.name)
def test_readiness_names_each_dependency(stack: None, service: catalogue.Service) -> None:
    body = get(base_url(service.name) + "/health/ready").json()
    for dependency in service.depends_on:
        check = body["checks"][dependency]
        assert check["ok"] is True, check
        assert check["latency_ms"] >= 0


@pytest.mark.parametrize("service", app_services(), ids=lambda s: s.name)
def test_metrics_are_prometheus_text(stack: None, service: catalogue.Service) -> None:
    get(base_url(service.name) + "/health/ready")
    reply = get(base_url(service.name) + "/metrics")
    assert reply.status == 200
    assert "# TYPE health_check_total counter" in reply.body
    assert "http_requests_total" in reply.body


@pytest.mark.parametrize("service", http_services(), ids=lambda s: s.name)
def test_ui_status_reads_each_service_s_verdicts_without_the_callers_key(
    stack: None, service: catalogue.Service
) -> None:
    """/status/<service> is the dashboard's view: readiness verdicts only, even for a request that
    carries the operator's key, which on the service's own port shows the details."""
    reply = get(f"{base_url('ui')}/status/{service.name}")  # carries the operator's key
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["status"] == "ok"
    if service.name in {s.name for s in app_services()}:
        assert body["service"] == service.name
        assert set(service.depends_on) <= set(body["checks"])
        assert all(check == {"ok": True} for check in body["checks"].values()), body
        direct = get(base_url(service.name) + "/health/ready").json()
        assert "latency_ms" in direct["checks"][service.depends_on[0]], "the key shows details directly"


# ui answers its own /status/ui from nginx: nothing behind it to write to.
@pytest.mark.parametrize("service", [s for s in http_services() if s.name != "ui"], ids=lambda s: s.name)
def test_ui_status_takes_reads_only(stack: None, service: catalogue.Service) -> None:
    reply = http("POST", f"{base_url('ui')}/status/{service.name}", {})
    assert reply.status == 403, reply.body


@pytest.mark.parametrize("service", app_services(), ids=lambda s: s.name)
def test_settings_report_what_the_running_container_was_given(
    stack: None, containers: dict[str, Container], service: catalogue.Service
) -> None:
    """GET /settings (operator only) is the service's own parse of its environment: no secret in it,
    and every value the one its container's environment sets."""
    reply = get(f"{base_url(service.name)}/settings")
    assert reply.status == 200, reply.body
    body = reply.json()
    environment = dict(item.split("=", 1) for item in containers[service.name].attrs["Config"]["Env"])
    parsed = load_settings(service.name, environment)
    shown = json.loads(json.dumps(parsed.shown()))
    assert body == {"service": service.name, "settings": shown, "problems": []}
    for secret in parsed.secret_values:
        assert secret not in reply.body
    assert get(f"{base_url(service.name)}/settings", auth="CLAUDE_FLOW_API_KEY").status == 403


def test_ui_access_lines_carry_a_level_from_their_status(
    stack: None, containers: dict[str, Container]
) -> None:
    """services/ui/nginx.conf: 4xx is warn, so `invoke logs --level warning` shows failed requests."""
    assert get(f"{base_url('ui')}/health/ready").status == 200
    assert get(f"{base_url('ui')}/no-such-page").status == 404
    levels: dict[tuple[str, int], str] = {}

    def both_logged() -> bool:  # nginx writes the line after it answered: it may come a moment later
        logged = containers["ui"].logs(stdout=True, stderr=False).decode().splitlines()
        access = [json.loads(line) for line in logged if line.startswith("{")]
        levels.update({(line["path"], line["status"]): line["level"] for line in access})
        return {("/health/ready", 200), ("/no-such-page", 404)} <= set(levels)

    wait_for(both_logged, 10, "the ui's access lines")
    assert levels[("/health/ready", 200)] == "info"
    assert levels[("/no-such-page", 404)] == "warn"
