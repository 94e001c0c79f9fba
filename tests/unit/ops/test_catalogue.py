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


def test_each_exporter_is_a_monitoring_service_that_reads_one_store() -> None:
    for exporter in catalogue.EXPORTERS:
        store = catalogue.get(exporter.reads)
        assert exporter.service in catalogue.MONITORING and exporter.service.depends_on == (store.name,)
        assert not store.is_http and exporter.port == exporter.service.port != store.port
        assert catalogue.exporter_named(exporter.name) == exporter
        assert {exporter.health.path(tier) for tier in catalogue.Tier} == {exporter.probe_path}
    assert catalogue.exporter_named("prometheus") is None
    assert len({exporter.reads for exporter in catalogue.EXPORTERS}) == len(catalogue.EXPORTERS)


def test_an_exporter_reads_exactly_one_service() -> None:
    """reads is the one service its compose service depends on; none (or two) names no store."""
    exporter = catalogue.Exporter("prometheus", probe_path="/-/ready")  # depends on nothing
    with pytest.raises(ValueError, match="not enough values to unpack"):
        _ = exporter.reads


def test_each_exporter_s_probe_path_is_its_image_s_health_check() -> None:
    """The kubelet asks what the image's HEALTHCHECK asks: a path that needs nothing of the store."""
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    for exporter in catalogue.EXPORTERS:
        stage = dockerfile.split(f" AS {exporter.service.target}\n", 1)[1].split("\nFROM ", 1)[0]
        healthcheck = re.search(r'^HEALTHCHECK .*?"http://127\.0\.0\.1:(\d+)(/[^"]*)"', stage,
                                flags=re.M | re.S)
        assert healthcheck is not None, exporter.name
        assert (int(healthcheck[1]), healthcheck[2]) == (exporter.port, exporter.probe_path), exporter.name


def test_kubernetes_scrapes_each_metrics_service_and_each_store_through_its_exporter() -> None:
    ports = catalogue.kubernetes_scrape_ports()
    assert ports == {"mcp": 8001, "claude-flow": 9100, "agenticos": 9400, "llama": 9300,
                     "postgres": 9187, "redis": 9121}
    assert "ui" not in ports


def test_the_exporters_images_are_known_to_build_and_push() -> None:
    names = catalogue.image_names()
    assert names[:len(catalogue.SERVICES)] == catalogue.names()
    assert {"postgres-exporter", "redis-exporter", "llama-cuda"} <= set(names)
    assert "prometheus" not in names
