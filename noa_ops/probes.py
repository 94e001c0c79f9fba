"""Health of a running stack: probe every service, then decide.

HTTP services are probed on all three tiers at 127.0.0.1:<published port>; Postgres
and Redis have no HTTP endpoint, so their container's Docker health (an
authenticated check defined in the compose file) stands for them. Probing acts;
`verdict` decides and is pure.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from invoke.context import Context

from . import catalogue
from . import compose_commands as compose
from .environments import Environment
from .shell import run

PROBE_TIMEOUT = 5.0
DOCKER_CHECK = "docker"

# (url, timeout) -> (HTTP status, body); raises OSError when nothing answers.
Fetch = Callable[[str, float], tuple[int, bytes]]

# Loopback only: an HTTP(S)_PROXY in the environment must not see these requests.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Check:
    service: str
    check: str  # a catalogue.Tier value, or "docker" for Postgres and Redis
    ok: bool
    status: str  # HTTP status, Docker state/health, or why nothing answered
    latency_ms: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    unhealthy: tuple[str, ...]  # in catalogue order


@dataclass(frozen=True)
class Container:
    state: str  # running, exited, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck


def fetch(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with _opener.open(url, timeout=timeout) as reply:
            return int(reply.status), reply.read(65536)
    except urllib.error.HTTPError as error:  # 503 and friends are answers, not failures to answer
        return error.code, error.read(65536)


def describe_failure(error: BaseException) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timeout"
    return str(reason) or type(reason).__name__


def failed_dependencies(body: bytes) -> str:
    """From a readiness body, the checks that failed: 'postgres: timeout; redis: ...'."""
    try:
        checks = json.loads(body).get("checks", {})
    except (ValueError, AttributeError):
        return ""
    if not isinstance(checks, dict):
        return ""
    failed = [
        f"{name}: {result.get('error') or 'failed'}"
        for name, result in checks.items()
        if isinstance(result, dict) and not result.get("ok")
    ]
    return "; ".join(failed)


def probe_http(
    service: catalogue.Service,
    tier: catalogue.Tier,
    fetcher: Fetch | None = None,
    timeout: float = PROBE_TIMEOUT,
    port: int | None = None,
) -> Check:
    """One tier of one service on 127.0.0.1:`port` (its published port or a port-forward; default its own)."""
    if service.health is None:
        raise ValueError(f"{service.name} has no HTTP health endpoint")
    url = f"http://127.0.0.1:{port or service.port}{service.health.path(tier)}"
    started = time.perf_counter()
    try:
        status, body = (fetcher or fetch)(url, timeout)
    except OSError as error:  # URLError, refused, reset, timeout
        latency = (time.perf_counter() - started) * 1000
        return Check(service.name, tier.value, False, describe_failure(error), round(latency, 1))
    latency = (time.perf_counter() - started) * 1000
    detail = "" if status == 200 else failed_dependencies(body)
    return Check(service.name, tier.value, status == 200, str(status), round(latency, 1), detail)


def parse_ps(output: str) -> dict[str, list[Container]]:
    """`docker compose ps --format json`: one object per line (older compose: one array)."""
    text = output.strip()
    if not text:
        return {}
    rows: list[dict[str, Any]]
    if text.startswith("["):
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    found: dict[str, list[Container]] = {}
    for row in rows:
        container = Container(state=str(row.get("State", "")), health=str(row.get("Health", "")))
        found.setdefault(str(row.get("Service", "")), []).append(container)
    return found


def container_check(service: str, containers: dict[str, list[Container]]) -> Check:
    mine = containers.get(service, [])
    if not mine:
        return Check(service, DOCKER_CHECK, False, "no container")
    bad = [c for c in mine if c.state != "running" or c.health != "healthy"]
    shown = bad[0] if bad else mine[0]
    status = shown.state if shown.state != "running" else (shown.health or "no healthcheck")
    return Check(service, DOCKER_CHECK, not bad, status)


def explain_silence(check: Check, containers: dict[str, list[Container]]) -> Check:
    """A probe nothing answered: say what its container is doing (exited, restarting, absent)."""
    if check.ok or check.detail or check.status.isdigit():
        return check
    if not containers.get(check.service):
        return replace(check, detail="no container")
    return replace(check, detail=f"container {container_check(check.service, containers).status}")


def verdict(checks: Iterable[Check], order: Iterable[str] | None = None) -> Verdict:
    """Healthy only when every check passed; name the services that did not."""
    failing = {check.service for check in checks if not check.ok}
    known = list(order) if order is not None else catalogue.names()
    unhealthy = [name for name in known if name in failing]
    unhealthy += sorted(failing - set(unhealthy))
    return Verdict(ok=not failing, unhealthy=tuple(unhealthy))


def check_stack(c: Context, env: Environment, fetcher: Fetch | None = None) -> list[Check]:
    """Probe every service of the stack once, HTTP tiers concurrently; a profile's service (the
    monitoring profile's) when the project has a container of it."""
    listed = run(c, compose.ps(env), hide=True)
    containers = parse_ps(listed.stdout) if listed.ok else {}
    services = [s for s in catalogue.compose_services() if not s.profile or s.name in containers]
    probes = [(service, tier) for service in services if service.is_http for tier in catalogue.Tier]
    with ThreadPoolExecutor(max_workers=8) as pool:
        http_checks = list(pool.map(lambda probe: probe_http(probe[0], probe[1], fetcher,
                                                             port=env.host_port(probe[0].port)), probes))
    needs_docker = [service.name for service in services if not service.is_http]
    docker_checks = [container_check(name, containers) for name in needs_docker]
    http_checks = [explain_silence(check, containers) for check in http_checks]
    by_service: dict[str, list[Check]] = {service.name: [] for service in services}
    for check in [*docker_checks, *http_checks]:
        by_service[check.service].append(check)
    return [check for name in by_service for check in by_service[name]]


def wait_until_healthy(
    c: Context,
    env: Environment,
    budget: float,
    *,
    interval: float = 2.0,
    fetcher: Fetch | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    give_up: Callable[[], bool] = lambda: False,
) -> list[Check]:
    """Probe until every check passes, `budget` seconds are spent or `give_up()` says waiting is
    pointless; the last probe's checks."""
    deadline = clock() + budget
    while True:
        checks = check_stack(c, env, fetcher)
        if verdict(checks).ok or clock() >= deadline or give_up():
            return checks
        sleep(interval)


def as_json(env: Environment, checks: list[Check]) -> dict[str, Any]:
    result = verdict(checks)
    return {
        "environment": env.name,
        "ok": result.ok,
        "unhealthy": list(result.unhealthy),
        "checks": [asdict(check) for check in checks],
    }
