"""Prometheus metrics of one service: the shared ones of the health contract plus its own.

Each app gets its own registry, so building an app twice (tests, uvicorn --reload) never hits
"Duplicated timeseries" and /metrics shows only this service's series.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_PATH = "<unmatched>"
_CHECK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests served, by route template and status.",
            ["method", "path", "status"], registry=self.registry)
        self.http_duration = Histogram(
            "http_request_duration_seconds", "Time to serve an HTTP request, by route template.",
            ["method", "path"], registry=self.registry)
        self.health_checks = Counter(
            "health_check_total", "Dependency checks run for /health/ready, by result.",
            ["check", "status"], registry=self.registry)
        self.health_check_duration = Histogram(
            "health_check_duration_seconds", "Time a dependency check took (capped by its timeout).",
            ["check"], buckets=_CHECK_BUCKETS, registry=self.registry)
        self.started = Gauge(
            "noa_service_started", "1 once one-time initialisation (settings, schema) is done.",
            registry=self.registry)

    def counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, documentation, list(labels), registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, documentation, list(labels), registry=self.registry)

    def histogram(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Histogram:
        return Histogram(name, documentation, list(labels), registry=self.registry)

    def observe_check(self, check: str, ok: bool, seconds: float) -> None:
        self.health_checks.labels(check=check, status="ok" if ok else "fail").inc()
        self.health_check_duration.labels(check=check).observe(seconds)

    async def endpoint(self, _request: Request) -> Response:
        """Prometheus metrics in the text exposition format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's path template (/workflows/{id}), so URLs with ids do not explode label sets."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_PATH


class RequestMetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware): it must not buffer MCP's streamed responses."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            method = str(scope.get("method", ""))
            path = route_template(scope)
            self.metrics.http_requests.labels(method=method, path=path, status=str(status)).inc()
            self.metrics.http_duration.labels(method=method, path=path).observe(time.perf_counter() - started)
