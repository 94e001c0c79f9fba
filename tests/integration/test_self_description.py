"""What a new user opens first: the URLs deploy prints, each service's index, API docs and version."""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
from docker.models.containers import Container

from noa_ops import catalogue

from .api_routes import ANY_ID, ROUTES
from .helpers import app_services, base_url, get, http, mcp_client

PRINTED = re.compile(r"^(?P<name>[\w-]+): (?P<url>http://127\.0\.0\.1:\d+/\S*)$", re.M)
VERSION_LABEL = "org.opencontainers.image.version"


def test_every_url_deploy_prints_answers_200_to_anyone(stack: subprocess.CompletedProcess[str]) -> None:
    printed = {match["name"]: match["url"] for match in PRINTED.finditer(stack.stderr)}
    # The suite runs the monitoring profile: Prometheus and Alertmanager are printed too.
    shown = {service.name for service in catalogue.compose_services() if service.published} - {"ui"}
    assert set(printed) == {"dashboard", *shown}, stack.stderr
    answers = {name: get(url, auth=None).status for name, url in printed.items()}
    assert answers == dict.fromkeys(printed, 200)


@pytest.mark.parametrize("service", app_services(), ids=lambda s: s.name)
def test_the_index_gives_the_image_s_version_and_links_that_answer(
        service: catalogue.Service, containers: dict[str, Container]) -> None:
    index = get(base_url(service.name) + "/", auth=None)
    assert index.status == 200, index.body
    body = index.json()
    version = containers[service.name].image.labels[VERSION_LABEL]
    assert (body["service"], body["version"]) == (service.name, version)
    revision = r"[0-9a-f]{12}(-dirty)?"  # images.current_tag
    assert re.fullmatch(revision, version), "the image carries the revision, not 'dev'"
    for name, path in body["links"].items():
        assert get(base_url(service.name) + path, auth=None).status == 200, name


@pytest.mark.parametrize("service", app_services(), ids=lambda s: s.name)
def test_each_route_openapi_says_needs_a_key_refuses_an_anonymous_caller(service: catalogue.Service) -> None:
    document = get(base_url(service.name) + "/openapi.json", auth=None).json()
    assert document["info"]["version"] == get(base_url(service.name) + "/", auth=None).json()["version"]
    bodies = {(method, path): body for name, method, path, body in ROUTES if name == service.name}
    refused = {}
    for path, methods in document["paths"].items():
        for method, described in methods.items():
            if "security" in described:
                concrete = re.sub(r"{[^}]+}", ANY_ID, path)
                payload = bodies.get((method.upper(), concrete))
                refused[f"{method.upper()} {path}"] = http(method.upper(), base_url(service.name) + concrete,
                                                          payload, auth=None).status
    assert refused and set(refused.values()) == {401}, refused


def test_the_docs_page_is_html_for_people(stack: None) -> None:
    page = get(base_url("agenticos") + "/docs", auth=None)
    assert page.status == 200 and "<code>/tasks/{task_id}/complete</code>" in page.body


def test_the_mcp_server_reports_the_image_s_version(containers: dict[str, Container]) -> None:
    async def server_version() -> str | None:
        async with mcp_client() as client:
            return client.server_info.version if client.server_info else None

    assert asyncio.run(server_version()) == containers["mcp"].image.labels[VERSION_LABEL]
