"""The health contract as Starlette routes: /health, /health/ready, /health/startup and /metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from noa_common.health import Check, readiness_verdict, run_checks, utc_timestamp
from noa_common.metrics import Metrics
from noa_common.settings import SettingProblem
from noa_common.startup import StartupState

# Probes must never see a cached answer (the ui proxy sits in between).
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class HealthContext:
    service: str
    checks: Sequence[Check]
    timeout: float
    startup: StartupState
    metrics: Metrics
    problems: Sequence[SettingProblem] = ()
    metrics_enabled: bool = True


def _body(ctx: HealthContext, status: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "service": ctx.service, "timestamp": utc_timestamp(), **extra}


def _settings_check(problems: Sequence[SettingProblem]) -> dict[str, Any]:
    names = ", ".join(problem.variable for problem in problems)
    return {"ok": False, "latency_ms": 0.0, "error": f"invalid settings: {names}"}


def health_routes(ctx: HealthContext) -> list[Route]:
    async def live(_request: Request) -> JSONResponse:
        return JSONResponse(_body(ctx, "ok"), headers=_NO_STORE)

    async def ready(_request: Request) -> JSONResponse:
        if ctx.problems:
            # The dependency settings themselves may be the invalid ones: do not dial them.
            checks = {"settings": _settings_check(ctx.problems)}
            return JSONResponse(_body(ctx, "fail", checks=checks), status_code=503, headers=_NO_STORE)
        results = await run_checks(ctx.checks, ctx.timeout)
        for result in results:
            ctx.metrics.observe_check(result.name, result.ok, result.latency_ms / 1000.0)
        verdict = readiness_verdict(results, ctx.startup.done, ctx.startup.reason)
        return JSONResponse(_body(ctx, verdict.status, checks=verdict.checks),
                            status_code=verdict.status_code, headers=_NO_STORE)

    async def startup(_request: Request) -> JSONResponse:
        if ctx.startup.done:
            return JSONResponse(_body(ctx, "ok"), headers=_NO_STORE)
        body = _body(ctx, "starting", reason=ctx.startup.reason)
        return JSONResponse(body, status_code=503, headers=_NO_STORE)

    routes = [
        Route("/health", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/health/startup", startup, methods=["GET"]),
    ]
    if ctx.metrics_enabled:
        routes.append(Route("/metrics", ctx.metrics.endpoint, methods=["GET"]))
    return routes
