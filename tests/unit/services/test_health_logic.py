"""Readiness verdicts and concurrent checks with per-check timeouts."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from noa_common.health import (
    Check,
    CheckResult,
    describe_error,
    readiness_verdict,
    run_check,
    run_checks,
    utc_timestamp,
)


def ok(name: str) -> CheckResult:
    return CheckResult(name, True, 1.0)


def fail(name: str) -> CheckResult:
    return CheckResult(name, False, 2000.0, "timeout")


def test_ready_when_started_and_all_ok() -> None:
    verdict = readiness_verdict([ok("postgres"), ok("redis")], started=True)
    assert (verdict.ok, verdict.status, verdict.status_code) == (True, "ok", 200)
    assert verdict.checks == {
        "postgres": {"ok": True, "latency_ms": 1.0},
        "redis": {"ok": True, "latency_ms": 1.0},
    }


def test_one_failed_check_fails_readiness() -> None:
    verdict = readiness_verdict([ok("postgres"), fail("redis")], started=True)
    assert (verdict.ok, verdict.status_code) == (False, 503)
    assert verdict.checks["redis"] == {"ok": False, "latency_ms": 2000.0, "error": "timeout"}


def test_not_started_is_not_ready_even_with_healthy_dependencies() -> None:
    verdict = readiness_verdict([ok("postgres")], started=False, startup_reason="schema not present")
    assert not verdict.ok
    assert verdict.checks["startup"] == {"ok": False, "latency_ms": 0.0, "error": "schema not present"}


def test_no_checks_and_started_is_ready() -> None:
    assert readiness_verdict([], started=True).ok


def test_checks_run_concurrently_each_with_its_own_timeout() -> None:
    async def slow() -> None:
        await asyncio.sleep(0.2)

    async def hangs() -> None:
        await asyncio.sleep(10)

    async def broken() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    checks = [Check("a", slow), Check("b", slow), Check("c", hangs), Check("d", broken)]
    started = time.perf_counter()
    results = asyncio.run(run_checks(checks, timeout=0.3))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.6, "checks ran one after another"
    by_name = {result.name: result for result in results}
    assert by_name["a"].ok and by_name["b"].ok
    assert (by_name["c"].ok, by_name["c"].error) == (False, "timeout")
    assert by_name["c"].latency_ms >= 290
    assert by_name["d"].error == "ConnectionRefusedError: [Errno 111] Connection refused"


def test_run_check_measures_latency() -> None:
    async def quick() -> None:
        return None

    result = asyncio.run(run_check(Check("x", quick), timeout=1.0))
    assert result.ok and result.error is None and result.latency_ms < 100


def test_describe_error_is_one_short_line() -> None:
    assert describe_error(TimeoutError()) == "TimeoutError"
    long = describe_error(RuntimeError("x\n" * 500))
    assert "\n" not in long and len(long) == 200 and long.endswith("...")


def test_timestamp_is_iso_utc_with_z() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert utc_timestamp(moment) == "2026-01-02T03:04:05.678Z"


def test_describe_error_unwraps_exception_groups() -> None:
    group = ExceptionGroup("unhandled errors in a TaskGroup", [ConnectionRefusedError("refused")])
    assert describe_error(ExceptionGroup("outer", [group])) == "ConnectionRefusedError: refused"
