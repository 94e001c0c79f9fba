"""Assemble a service: settings, logging, metrics, health routes, clients, startup and shutdown.

Each service describes itself with a ServiceSpec (its tables, whether it needs mcp, and an
``attach`` that adds its routes, workers and lifetime context); ``build_app`` turns that into a
Starlette app. Nothing connects
at build time, so the app factory is cheap and never fails because a dependency is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from noa_common.api_docs import self_description, service_version
from noa_common.api_keys import ApiKeys, parse_clients
from noa_common.dependency_checks import http_health_check, postgres_check, redis_check
from noa_common.errors import exception_handlers
from noa_common.health import Check
from noa_common.health_routes import HealthContext, health_routes
from noa_common.json_logging import configure_logging
from noa_common.metrics import Metrics, RequestMetricsMiddleware
from noa_common.postgres import PostgresPool
from noa_common.rate_limit import FixedWindowLimiter, RateLimitMiddleware
from noa_common.redis_store import create_redis
from noa_common.rules import split_list
from noa_common.settings import Settings, load_settings
from noa_common.settings_route import settings_route
from noa_common.startup import StartupState, initialise
from noa_common.write_guard import WriteGuardMiddleware

logger = logging.getLogger("noa.service")

CLOSE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class ServiceParts:
    """What a service adds to the common runtime, built once per app from its ServiceRuntime."""

    routes: Sequence[BaseRoute] = ()
    # Runs once after startup succeeded (e.g. spawn workers with runtime.spawn).
    on_started: Callable[[], Awaitable[None]] | None = None
    # Entered for the app's lifetime (e.g. the MCP session manager).
    context: Callable[[], AbstractAsyncContextManager[Any]] | None = None


def _nothing(_runtime: ServiceRuntime) -> ServiceParts:
    return ServiceParts()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    # schema.table names that must exist before the service counts as started.
    tables: tuple[str, ...]
    needs_mcp: bool = False
    attach: Callable[[ServiceRuntime], ServiceParts] = _nothing


class ServiceRuntime:
    """What a running service holds: its settings and its clients, shared by routes and workers."""

    def __init__(self, spec: ServiceSpec, settings: Settings, version: str = "dev") -> None:
        self.spec = spec
        self.settings = settings
        self.version = version
        self.metrics = Metrics(spec.name)
        # Invalid API_CLIENTS fails the settings (rules.ApiClientList): then nobody gets in.
        try:
            self.api_keys = ApiKeys(parse_clients(settings.text("API_CLIENTS")))
        except ValueError:
            self.api_keys = ApiKeys({})
        self.startup = StartupState()
        self.postgres = PostgresPool(settings)
        self.redis = create_redis(settings)
        timeout = settings.number("HEALTH_CHECK_TIMEOUT")
        # trust_env=False: in-cluster calls never go through a proxy from the environment.
        self.http = httpx2.AsyncClient(timeout=timeout, trust_env=False)
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def mcp_url(self) -> str:
        return self.settings.text("MCP_URL").rstrip("/")

    def checks(self) -> list[Check]:
        checks = [postgres_check(self.postgres), redis_check(self.redis)]
        if self.spec.needs_mcp:
            checks.append(http_health_check("mcp", self.mcp_url, self.http))
        return checks

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop_tasks(self, grace: float) -> None:
        """Ask tasks to finish (stopping is set), wait up to ``grace``, then cancel the rest."""
        self.stopping.set()
        tasks = list(self._tasks)
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_SECONDS)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.http.aclose(), CLOSE_TIMEOUT_SECONDS)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.aclose(), CLOSE_TIMEOUT_SECONDS)
        await self.postgres.close(CLOSE_TIMEOUT_SECONDS)


async def _initialise_service(runtime: ServiceRuntime, parts: ServiceParts) -> None:
    spec = runtime.spec

    async def schema_present() -> None:
        missing = await runtime.postgres.missing_tables(spec.tables)
        if missing:
            tables = ", ".join(missing)
            raise RuntimeError(f"schema not present, missing tables: {tables} (run docker/init-db.sql)")

    await initialise(runtime.startup, schema_present)
    if parts.on_started is not None:
        try:
            await parts.on_started()
        except Exception:
            # A background task's exception is otherwise only seen at shutdown: say it now.
            logger.exception("starting the service's workers failed")
            runtime.startup.waiting("workers failed to start (see log)")
            return
    runtime.metrics.started.set(1)


Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def _lifespan(runtime: ServiceRuntime, parts: ServiceParts) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        settings = runtime.settings
        # Half the grace period went to draining connections (serve()); workers get most of the rest.
        worker_grace = max(0.5, settings.integer("SHUTDOWN_GRACE_SECONDS") / 2 - CLOSE_TIMEOUT_SECONDS)
        async with AsyncExitStack() as stack:
            if parts.context is not None:
                await stack.enter_async_context(parts.context())
            init_task: asyncio.Task[None] | None = None
            if settings.valid:
                init_task = asyncio.create_task(_initialise_service(runtime, parts), name="startup")
            else:
                names = ", ".join(problem.variable for problem in settings.problems)
                runtime.startup.waiting(f"invalid settings: {names}")
            try:
                yield
            finally:
                logger.info("shutting down", extra={"grace_s": settings.integer("SHUTDOWN_GRACE_SECONDS")})
                if init_task is not None:
                    init_task.cancel()
                    await asyncio.gather(init_task, return_exceptions=True)
                await runtime.stop_tasks(worker_grace)
                await runtime.close()

    return lifespan


def log_settings(settings: Settings) -> None:
    """One line at start with every non-secret value, then each invalid variable."""
    logger.info("settings", extra={"settings": settings.shown()})
    for problem in settings.problems:
        logger.error(problem.message, extra={"variable": problem.variable, "reason": problem.reason})


def middleware_for(settings: Settings, metrics: Metrics, keys: ApiKeys | None = None) -> list[Middleware]:
    """Metrics outermost (it counts 429s too), then CORS (preflights never count against the rate
    limit), then the write guard (origin, JSON, body size: noa_common/write_guard.py), then the
    write-request limit per client (every API service reads RATE_LIMIT_MAX)."""
    stack = [Middleware(RequestMetricsMiddleware, metrics=metrics)]
    origins = split_list(settings.text("CORS_ORIGIN"))
    if origins:
        stack.append(Middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                                allow_methods=["GET", "POST"],
                                allow_headers=["Content-Type", "Authorization"],
                                max_age=600))
    stack.append(Middleware(WriteGuardMiddleware, max_body=settings.integer("HTTP_MAX_BODY_BYTES"),
                            allowed_origins=origins))
    if "RATE_LIMIT_MAX" in settings.values:
        limiter = FixedWindowLimiter(settings.integer("RATE_LIMIT_MAX"),
                                     settings.integer("RATE_LIMIT_WINDOW"))
        stack.append(Middleware(RateLimitMiddleware, limiter=limiter, keys=keys))
    return stack


def build_app(spec: ServiceSpec, environ: Mapping[str, str] | None = None) -> Starlette:
    settings = load_settings(spec.name, environ)
    configure_logging(spec.name, settings.text("LOG_LEVEL"), settings.secret_values)
    log_settings(settings)
    runtime = ServiceRuntime(spec, settings, service_version(os.environ if environ is None else environ))
    parts = spec.attach(runtime)
    health = HealthContext(
        service=spec.name,
        checks=runtime.checks(),
        timeout=settings.number("HEALTH_CHECK_TIMEOUT"),
        startup=runtime.startup,
        metrics=runtime.metrics,
        problems=settings.problems,
        metrics_enabled=settings.flag("METRICS_ENABLED"),
        shows_details=lambda request: runtime.api_keys.knows(request.headers.get("authorization")),
    )
    routes = [*health_routes(health), settings_route(settings), *parts.routes]
    described = self_description(spec.name, runtime.version, routes,
                                 metrics_enabled=settings.flag("METRICS_ENABLED"))
    app = Starlette(
        routes=[*described, *routes],
        middleware=middleware_for(settings, runtime.metrics, runtime.api_keys),
        exception_handlers=exception_handlers(),
        lifespan=_lifespan(runtime, parts),
    )
    app.state.runtime = runtime
    return app
