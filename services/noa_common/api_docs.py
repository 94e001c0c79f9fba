"""What a service says about itself: `/` (name, version, links), `/openapi.json` and `/docs`.

The OpenAPI document is generated from the app's own routes, so it cannot list a route that does
not exist or miss one that does: each operation's summary is its endpoint's docstring, its path
parameters come from the path template, and every route outside PUBLIC_PATHS is marked as needing
a bearer API key (the attack tests call each of them without one and expect 401). The version is
the image's (NOA_VERSION, set at build time to the revision); "dev" outside an image.
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

VERSION_ENV = "NOA_VERSION"
UNVERSIONED = "dev"
INDEX_PATH, OPENAPI_PATH, DOCS_PATH = "/", "/openapi.json", "/docs"
HEALTH_LINKS = {"live": "/health", "ready": "/health/ready", "startup": "/health/startup"}
# Answer anyone: the probes, Prometheus and this self-description. Everything else needs a key.
PUBLIC_PATHS = frozenset({INDEX_PATH, OPENAPI_PATH, DOCS_PATH, *HEALTH_LINKS.values(), "/metrics"})
# An ASGI app as a route (mcp's /mcp, built by the MCP SDK) lists neither methods nor a docstring.
ASGI_METHODS = ("POST",)
ASGI_SUMMARY = "Model Context Protocol: JSON-RPC over streamable HTTP (JSON responses)"
_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")
_BEARER = {"type": "http", "scheme": "bearer",
           "description": "An API key from API_CLIENTS (or an agent token on agenticos)."}


def service_version(environ: Mapping[str, str]) -> str:
    return environ.get(VERSION_ENV) or UNVERSIONED


def summary(route: Route) -> str:
    if not inspect.isfunction(route.endpoint) and not inspect.ismethod(route.endpoint):
        return ASGI_SUMMARY
    doc = inspect.getdoc(route.endpoint)
    return doc.splitlines()[0] if doc else ""


def operation(route: Route, method: str) -> dict[str, Any]:
    described: dict[str, Any] = {"summary": summary(route),
                                 "responses": {"default": {"description": "JSON"}}}
    names = _PARAMETER.findall(route.path)
    if names:
        described["parameters"] = [{"name": name, "in": "path", "required": True,
                                    "schema": {"type": "string"}} for name in names]
    if route.path not in PUBLIC_PATHS:
        described["security"] = [{"apiKey": []}]
    return described


def route_methods(route: Route) -> list[str]:
    if not route.methods:
        return list(ASGI_METHODS)
    return sorted(method for method in route.methods if method != "HEAD")


def openapi_document(service: str, version: str, routes: Sequence[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if isinstance(route, Route):
            for method in route_methods(route):
                paths.setdefault(route.path, {})[method.lower()] = operation(route, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"noa {service}", "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {"apiKey": _BEARER}},
    }


def docs_page(document: dict[str, Any]) -> str:
    """A page for people: every operation in a table. No script, nothing fetched from elsewhere."""
    rows = "".join(
        f"<tr><td>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
        f"<td>{'API key' if 'security' in described else 'anyone'}</td>"
        f"<td>{html.escape(described['summary'])}</td></tr>"
        for path, methods in document["paths"].items() for method, described in methods.items()
    )
    title = html.escape(f"{document['info']['title']} {document['info']['version']}")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body><h1>{title}</h1><p>Machine-readable: <a href=\"{OPENAPI_PATH}\">{OPENAPI_PATH}</a></p>"
            "<table><thead><tr><th>method</th><th>path</th><th>who</th><th>what</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>")


def index_body(service: str, version: str, metrics_enabled: bool) -> dict[str, Any]:
    links = {**HEALTH_LINKS, "openapi": OPENAPI_PATH, "docs": DOCS_PATH}
    if metrics_enabled:
        links["metrics"] = "/metrics"
    return {"service": service, "version": version, "links": links}


def self_description(service: str, version: str, routes: Sequence[BaseRoute], *,
                     metrics_enabled: bool) -> list[Route]:
    """`/`, `/openapi.json` and `/docs`, describing ``routes`` and themselves."""

    async def index(_request: Request) -> JSONResponse:
        """The service's name, version and where to look next."""
        return JSONResponse(index_body(service, version, metrics_enabled))

    async def openapi(_request: Request) -> JSONResponse:
        """This document: every route of the service."""
        return JSONResponse(document)

    async def docs(_request: Request) -> HTMLResponse:
        """The same, as a page."""
        return HTMLResponse(page)

    own = [Route(INDEX_PATH, index, methods=["GET"]), Route(OPENAPI_PATH, openapi, methods=["GET"]),
           Route(DOCS_PATH, docs, methods=["GET"])]
    document = openapi_document(service, version, [*own, *routes])
    page = docs_page(document)
    return own
