"""The health contract as Starlette routes: /health, /health/ready, /health/startup and /metrics.

They answer anyone (the kubelet, compose, Prometheus, the dashboard), but the details of a failing
check (its error, which can name an address) and of a startup still waiting go only to callers
with an API key, and to the log when they change; an anonymous caller sees each check's name and
whether it passed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
logger = logging.getLogger("noa.health")


def _nobody(_request: Request) -> bool:
    return False


@dataclass(frozen=True)
class HealthContext:
    service: str
    checks: Sequence[Check]
    timeout: float
    startup: StartupState
    metrics: Metrics
    problems: Sequence[SettingProblem] = ()
    metrics_enabled: bool = True
    # Whether a request may see errors and reasons (build_app: it carries a known API key).
    shows_details: Callable[[Request], bool] = _nobody


def public_checks(checks: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous caller sees of the checks: their names and whether each passed."""
    return {name: {"ok": bool(check.get("ok"))} for name, check in checks.items()}


class FailureLog:
    """Logs the failing checks' errors when they change (not at every probe), and the recovery."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}

    def note(self, checks: dict[str, Any]) -> None:
        failing = {name: str(check.get("error") or "failed") for name, check in checks.items()
                   if not check.get("ok")}
        if failing == self.last:
            return
        for name, error in failing.items():
            if self.last.get(name) != error:
                logger.warning("readiness check failed", extra={"check": name, "error": error})
        if self.last and not failing:
            logger.info("readiness checks pass again")
        self.last = failing


def _body(ctx: HealthContext, status: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "service": ctx.service, "timestamp": utc_timestamp(), **extra}


def _settings_check(problems: Sequence[SettingProblem]) -> dict[str, Any]:
    names = ", ".join(problem.variable for problem in problems)
    return {"ok": False, "latency_ms": 0.0, "error": f"invalid settings: {names}"}


def health_routes(ctx: HealthContext) -> list[Route]:
    failures = FailureLog()

    async def live(_request: Request) -> JSONResponse:
        """Liveness: the process answers (200)."""
        return JSONResponse(_body(ctx, "ok"), headers=_NO_STORE)

    async def ready(request: Request) -> JSONResponse:
        """Readiness: started and every dependency answers (200), else 503 with the failing checks."""
        if ctx.problems:
            # The dependency settings themselves may be the invalid ones: do not dial them.
            checks = {"settings": _settings_check(ctx.problems)}
            status_code, status = 503, "fail"
        else:
            results = await run_checks(ctx.checks, ctx.timeout)
            for result in results:
                ctx.metrics.observe_check(result.name, result.ok, result.latency_ms / 1000.0)
            verdict = readiness_verdict(results, ctx.startup.done, ctx.startup.reason)
            checks, status_code, status = verdict.checks, verdict.status_code, verdict.status
        failures.note(checks)
        shown = checks if ctx.shows_details(request) else public_checks(checks)
        return JSONResponse(_body(ctx, status, checks=shown), status_code=status_code, headers=_NO_STORE)

    async def startup(request: Request) -> JSONResponse:
        """Startup: the schema is present and the workers run (200), else 503."""
        if ctx.startup.done:
            return JSONResponse(_body(ctx, "ok"), headers=_NO_STORE)
        reason = ctx.startup.reason if ctx.shows_details(request) else "not started yet"
        return JSONResponse(_body(ctx, "starting", reason=reason), status_code=503, headers=_NO_STORE)

    routes = [
        Route("/health", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/health/startup", startup, methods=["GET"]),
    ]
    if ctx.metrics_enabled:
        routes.append(Route("/metrics", ctx.metrics.endpoint, methods=["GET"]))
    return routes
