"""The catalogue is consistent with itself."""

from __future__ import annotations

import re

import pytest

from noa_ops import catalogue

from .helpers import REPO


def test_names_and_ports_are_unique() -> None:
    assert len(set(catalogue.names())) == len(catalogue.SERVICES)
    assert len({service.port for service in catalogue.SERVICES}) == len(catalogue.SERVICES)


def test_dependencies_are_known_and_come_first() -> None:
    seen: set[str] = set()
    for service in catalogue.stack_services():
        assert set(service.depends_on) <= seen, f"{service.name} depends on a later or unknown service"
        seen.add(service.name)


def test_only_http_services_are_published() -> None:
    for service in catalogue.SERVICES:
        assert service.published == service.is_http, service.name


def test_health_paths_are_distinct_for_the_standard_contract() -> None:
    for service in catalogue.stack_services():
        if service.is_http and service.name != "llama":
            assert service.health is not None
            paths = {service.health.path(tier) for tier in catalogue.Tier}
            assert paths == {"/health", "/health/ready", "/health/startup"}, service.name


def test_llama_has_one_tiered_health_endpoint() -> None:
    """llama.cpp's /health is 503 while the model loads and 200 once it serves: every tier is it."""
    llama = catalogue.get("llama")
    assert llama.health is not None
    assert {llama.health.path(tier) for tier in catalogue.Tier} == {"/health"}


def test_get_unknown_service_lists_valid_ones() -> None:
    with pytest.raises(KeyError, match="valid: postgres"):
        catalogue.get("nope")


def test_every_extra_image_has_its_dockerfile_target_and_stands_in_for_a_service() -> None:
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    for image in catalogue.EXTRA_IMAGES:
        assert re.search(rf"^FROM \S+ AS {re.escape(image.target)}$", dockerfile, flags=re.M), image.name
        assert image.service in catalogue.names() and image.name not in catalogue.names()
    assert catalogue.service_of("llama-cuda") == "llama" and catalogue.service_of("mcp") == "mcp"


def test_compose_services_are_the_stack_then_the_profiles_asked_for() -> None:
    stack = catalogue.stack_services()
    assert catalogue.compose_services(()) == stack
    assert catalogue.compose_services(["monitoring"]) == [*stack, *catalogue.MONITORING]
    assert catalogue.compose_services() == catalogue.compose_services(catalogue.PROFILES)
    assert catalogue.compose_service("prometheus").port == 9090
    with pytest.raises(KeyError, match="unknown service 'prometheus-exporter'; valid: postgres, "):
        catalogue.compose_service("prometheus-exporter")
