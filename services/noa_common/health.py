"""The health contract's logic: run dependency checks concurrently, each under its own timeout,
and decide the readiness verdict. Pure apart from running the checks; the routes live in
noa_common.health_routes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CheckFn = Callable[[], Awaitable[None]]
_MAX_ERROR_LENGTH = 200


@dataclass(frozen=True)
class Check:
    """A required dependency: ``run`` returns when the dependency answered, raises otherwise."""

    name: str
    run: CheckFn


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "latency_ms": self.latency_ms}
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checks: dict[str, dict[str, Any]]

    @property
    def status_code(self) -> int:
        return 200 if self.ok else 503

    @property
    def status(self) -> str:
        return "ok" if self.ok else "fail"


def utc_timestamp(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def root_error(error: BaseException) -> BaseException:
    """The first leaf of an exception group: anyio task groups (the MCP client) wrap the real cause."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def describe_error(error: BaseException) -> str:
    """A short, single-line reason for a failed check (exception class plus message)."""
    error = root_error(error)
    text = " ".join(str(error).split())
    name = type(error).__name__
    reason = f"{name}: {text}" if text else name
    return reason if len(reason) <= _MAX_ERROR_LENGTH else reason[: _MAX_ERROR_LENGTH - 3] + "..."


async def run_check(check: Check, timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check.run(), timeout)
    except TimeoutError:
        return CheckResult(check.name, False, _elapsed_ms(started), "timeout")
    except Exception as error:  # any failure of a dependency is a failed check, never a 500
        return CheckResult(check.name, False, _elapsed_ms(started), describe_error(error))
    return CheckResult(check.name, True, _elapsed_ms(started))


async def run_checks(checks: Sequence[Check], timeout: float) -> list[CheckResult]:
    """Run all checks at once: a slow dependency costs one timeout, not the sum of them."""
    return list(await asyncio.gather(*(run_check(check, timeout) for check in checks)))


def readiness_verdict(results: Sequence[CheckResult], started: bool, startup_reason: str = "") -> Verdict:
    """Ready means every required dependency answered and one-time initialisation is done: a service
    without its schema would accept requests it cannot serve."""
    checks = {result.name: result.as_dict() for result in results}
    if not started:
        checks["startup"] = CheckResult("startup", False, 0.0, startup_reason or "not started").as_dict()
    ok = started and all(result.ok for result in results)
    return Verdict(ok, checks)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)
