"""Every HTTP service serves the three health tiers; app services serve /metrics."""

from __future__ import annotations

import pytest

from noa_ops import catalogue

from .helpers import app_services, base_url, contract_services, get


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


@pytest.mark.parametrize("service", app_services(), ids=lambda s: s.name)
def test_ui_proxies_each_service(stack: None, service: catalogue.Service) -> None:
    reply = get(f"{base_url('ui')}/api/{service.name}/health")
    assert reply.status == 200, reply.body
    assert reply.json()["service"] == service.name
