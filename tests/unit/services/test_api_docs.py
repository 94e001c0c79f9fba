"""Each app service describes itself: `/` (name, version, links), `/openapi.json` and `/docs`,
generated from its routes; the routes it marks as needing a key are the attack tests' list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from noa_common.api_docs import PUBLIC_PATHS, openapi_document, summary
from noa_common.service_app import ServiceSpec, build_app
from tests.integration.api_routes import ANY_ID, ROUTES

from .helpers import SECRETS

APPS = {"mcp": "noa_mcp.app", "claude-flow": "noa_flow.app", "agenticos": "noa_agenticos.app"}


pytestmark = pytest.mark.usefixtures("restore_root_logger")


def _client(service: str, **environ: str) -> TestClient:
    spec: ServiceSpec = __import__(APPS[service], fromlist=["SPEC"]).SPEC
    return TestClient(build_app(spec, {**SECRETS, **environ}))


def _secured(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, methods in document["paths"].items()
            for method, described in methods.items() if "security" in described}


def _attacked(service: str) -> set[tuple[str, str]]:
    """The attack tests' routes of one service, their ids turned back into path parameters."""
    templates = {"claude-flow": "{workflow_id}", "agenticos": "{agent_id}"}
    found = set()
    for name, method, path, _body in ROUTES:
        if name == service:
            template = "{task_id}" if path.startswith("/tasks/") else templates.get(service, "")
            found.add((method, path.replace(ANY_ID, template)))
    return found


@pytest.mark.parametrize("service", APPS)
def test_the_index_names_the_service_its_version_and_links_that_exist(service: str) -> None:
    client = _client(service, NOA_VERSION="3b4e4c3284f0")
    index = client.get("/")
    assert index.status_code == 200
    body = index.json()
    assert (body["service"], body["version"]) == (service, "3b4e4c3284f0")
    routes = {route.path for route in client.app.routes if isinstance(route, Route)}  # type: ignore[attr-defined]
    assert set(body["links"].values()) <= routes
    expected = {"/health", "/health/ready", "/health/startup", "/openapi.json", "/docs", "/metrics"}
    assert expected <= set(body["links"].values())


def test_outside_an_image_the_version_is_dev_and_metrics_off_drops_its_link() -> None:
    body = _client("mcp", METRICS_ENABLED="false").get("/").json()
    assert body["version"] == "dev"
    assert "metrics" not in body["links"]
    assert _client("mcp", NOA_VERSION="").get("/").json()["version"] == "dev"  # set but empty


@pytest.mark.parametrize("service", APPS)
def test_openapi_marks_exactly_the_attacked_routes_as_needing_a_key(service: str) -> None:
    document = _client(service).get("/openapi.json").json()
    assert document["openapi"].startswith("3.") and document["info"]["title"] == f"noa {service}"
    assert _secured(document) == _attacked(service)
    public = {path for path, methods in document["paths"].items()
              if not any("security" in described for described in methods.values())}
    assert public <= PUBLIC_PATHS and {"/", "/health", "/openapi.json", "/docs"} <= public


@pytest.mark.parametrize("service", APPS)
def test_every_operation_says_what_it_does(service: str) -> None:
    document = _client(service).get("/openapi.json").json()
    missing = [f"{method.upper()} {path}" for path, methods in document["paths"].items()
               for method, described in methods.items() if not described["summary"]]
    assert not missing, f"endpoints without a docstring: {missing}"


def test_path_parameters_are_declared() -> None:
    document = _client("agenticos").get("/openapi.json").json()
    parameters = document["paths"]["/agents/{agent_id}/heartbeat"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [("agent_id", "path", True)]
    assert "parameters" not in document["paths"]["/agents"]["get"]


def test_a_route_without_a_docstring_has_no_summary_and_head_is_not_listed() -> None:
    async def bare(_request: object) -> None:
        return None

    route = Route("/bare", bare, methods=["GET"])
    assert summary(route) == ""
    assert list(openapi_document("x", "1", [route])["paths"]["/bare"]) == ["get"]


def test_the_docs_page_lists_every_path_and_runs_no_script() -> None:
    client = _client("claude-flow", NOA_VERSION="abc")
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path in client.get("/openapi.json").json()["paths"]:
        assert f"<code>{path}</code>" in page.text
    assert "noa claude-flow abc" in page.text
    assert not re.search(r"<script|https?://", page.text)
