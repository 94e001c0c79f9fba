"""Health probes (with a fake HTTP layer) and the pure verdict."""

from __future__ import annotations

import json
import urllib.error
from dataclasses import replace

import pytest
from invoke.runners import Result

from noa_ops import catalogue
from noa_ops import probes as health
from noa_ops.catalogue import Tier
from noa_ops.environments import Environment
from noa_ops.probes import Check, Container

from .helpers import mock_context, runs

PS = ("docker compose -p noa-dev -f docker/docker-compose.yml --env-file .noa/dev.env --profile monitoring "
      "ps --all --format json")


def ps_line(service: str, state: str = "running", health_status: str = "healthy") -> str:
    row = {"Service": service, "State": state, "Health": health_status, "Name": f"noa-dev-{service}-1"}
    return json.dumps(row)


HEALTHY_PS = "\n".join(ps_line(name) for name in ("postgres", "redis", "mcp"))


def all_ok(url: str, timeout: float) -> tuple[int, bytes]:
    return 200, b'{"status":"ok"}'


def ready_503_for_mcp(url: str, timeout: float) -> tuple[int, bytes]:
    if url == "http://127.0.0.1:8001/health/ready":
        checks = {"postgres": {"ok": False, "error": "timeout"}, "redis": {"ok": True}}
        body = {"status": "fail", "checks": checks}
        return 503, json.dumps(body).encode()
    return all_ok(url, timeout)


def healthy_checks() -> list[Check]:
    return [Check(s.name, "ready", True, "200", 1.0) for s in catalogue.stack_services()]


def test_all_healthy_is_ok() -> None:
    assert health.verdict(healthy_checks()) == health.Verdict(ok=True, unhealthy=())


def test_one_tier_503_fails_naming_the_service() -> None:
    checks = [*healthy_checks(), Check("claude-flow", "startup", False, "503", 2.0)]
    result = health.verdict(checks)
    assert not result.ok
    assert result.unhealthy == ("claude-flow",)


def test_unhealthy_services_are_named_in_catalogue_order() -> None:
    checks = [Check("ui", "live", False, "timeout"), Check("postgres", "docker", False, "exited")]
    assert health.verdict(checks).unhealthy == ("postgres", "ui")


def test_probe_reports_status_latency_and_failed_dependencies() -> None:
    mcp = catalogue.get("mcp")
    ok = health.probe_http(mcp, Tier.LIVE, all_ok)
    assert ok.ok and ok.status == "200" and ok.check == "live" and ok.latency_ms is not None
    failed = health.probe_http(mcp, Tier.READY, ready_503_for_mcp)
    assert not failed.ok
    assert failed.status == "503"
    assert failed.detail == "postgres: timeout"


def test_probe_uses_each_tier_path_on_loopback() -> None:
    seen: list[str] = []

    def record(url: str, timeout: float) -> tuple[int, bytes]:
        seen.append(url)
        return 200, b""

    for tier in Tier:
        health.probe_http(catalogue.get("agenticos"), tier, record)
    assert seen == [
        "http://127.0.0.1:9400/health",
        "http://127.0.0.1:9400/health/ready",
        "http://127.0.0.1:9400/health/startup",
    ]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "connection refused"),
        (urllib.error.URLError(TimeoutError("timed out")), "timeout"),
        (TimeoutError("timed out"), "timeout"),
        (ConnectionResetError(104, "reset"), "[Errno 104] reset"),
    ],
)
def test_nothing_answering_is_a_failed_check(error: OSError, expected: str) -> None:
    def fail(url: str, timeout: float) -> tuple[int, bytes]:
        raise error

    check = health.probe_http(catalogue.get("ui"), Tier.LIVE, fail)
    assert not check.ok
    assert check.status == expected


def test_probe_refuses_a_service_without_http_health() -> None:
    with pytest.raises(ValueError, match="postgres"):
        health.probe_http(catalogue.get("postgres"), Tier.LIVE, all_ok)


def test_failed_dependencies_tolerates_odd_bodies() -> None:
    assert health.failed_dependencies(b"not json") == ""
    assert health.failed_dependencies(b"[1, 2]") == ""
    assert health.failed_dependencies(b'{"checks": "x"}') == ""
    assert health.failed_dependencies(b'{"checks": {"redis": {"ok": false}}}') == "redis: failed"


def test_parse_ps_reads_lines_and_arrays() -> None:
    expected = {"postgres": [Container("running", "healthy")], "redis": [Container("exited", "")]}
    lines = ps_line("postgres") + "\n" + ps_line("redis", "exited", "")
    assert health.parse_ps(lines) == expected
    array = json.dumps([json.loads(line) for line in lines.splitlines()])
    assert health.parse_ps(array) == expected
    assert health.parse_ps("") == {}


@pytest.mark.parametrize(
    ("containers", "ok", "status"),
    [
        ([Container("running", "healthy")], True, "healthy"),
        ([Container("running", "unhealthy")], False, "unhealthy"),
        ([Container("running", "starting")], False, "starting"),
        ([Container("exited", "")], False, "exited"),
        ([Container("running", "")], False, "no healthcheck"),
        ([], False, "no container"),
        ([Container("running", "healthy"), Container("restarting", "")], False, "restarting"),
    ],
)
def test_container_check(containers: list[Container], ok: bool, status: str) -> None:
    check = health.container_check("redis", {"redis": containers} if containers else {})
    assert (check.ok, check.status, check.check) == (ok, status, "docker")


def test_check_stack_probes_every_stack_service(dev: Environment) -> None:
    c = mock_context({PS: Result(HEALTHY_PS)})
    checks = health.check_stack(c, dev, all_ok)
    stack = [service.name for service in catalogue.stack_services()]
    assert list(dict.fromkeys(check.service for check in checks)) == stack
    for service in catalogue.stack_services():
        kinds = [check.check for check in checks if check.service == service.name]
        assert kinds == (["live", "ready", "startup"] if service.is_http else ["docker"])
    assert health.verdict(checks).ok
    runs(c).assert_called_once_with(PS, warn=True, hide=True)


def test_check_stack_probes_the_ports_the_environment_publishes(dev: Environment) -> None:
    seen: list[str] = []

    def record(url: str, timeout: float) -> tuple[int, bytes]:
        seen.append(url)
        return 200, b""

    health.check_stack(mock_context({PS: Result(HEALTHY_PS)}), replace(dev, port_offset=20000), record)
    ports = {int(url.split(":")[2].split("/")[0]) for url in seen}
    assert ports == {service.port + 20000 for service in catalogue.stack_services() if service.is_http}


def test_unanswered_probes_say_what_the_container_is_doing(dev: Environment) -> None:
    def refused(url: str, timeout: float) -> tuple[int, bytes]:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    c = mock_context({PS: Result(HEALTHY_PS.replace(ps_line("mcp"), ps_line("mcp", "restarting", "")))})
    checks = health.check_stack(c, dev, refused)
    mcp_live = next(check for check in checks if check.service == "mcp" and check.check == "live")
    assert mcp_live.detail == "container restarting"
    ui_live = next(check for check in checks if check.service == "ui" and check.check == "live")
    assert ui_live.detail == "no container"


def test_check_stack_with_a_failing_ps_reports_no_containers(dev: Environment) -> None:
    c = mock_context({PS: Result(exited=1)})
    checks = health.check_stack(c, dev, all_ok)
    assert health.verdict(checks).unhealthy == ("postgres", "redis")


def test_wait_until_healthy_polls_until_ok(dev: Environment) -> None:
    c = mock_context({PS: [Result(ps_line("postgres", health_status="starting")), Result(HEALTHY_PS)]})
    naps: list[float] = []
    checks = health.wait_until_healthy(
        c, dev, budget=30, fetcher=all_ok, sleep=naps.append, clock=lambda: 0.0
    )
    assert health.verdict(checks).ok
    assert naps == [2.0]


def test_wait_until_healthy_gives_up_at_the_deadline(dev: Environment) -> None:
    c = mock_context({PS: Result(HEALTHY_PS)})
    times = iter([0.0, 5.0, 11.0])
    checks = health.wait_until_healthy(
        c, dev, budget=10, fetcher=ready_503_for_mcp, sleep=lambda _: None, clock=lambda: next(times)
    )
    assert health.verdict(checks).unhealthy == ("mcp",)


def test_json_report(dev: Environment) -> None:
    report = health.as_json(dev, [Check("mcp", "ready", False, "503", 3.0, "redis: timeout")])
    assert report == {
        "environment": "dev",
        "ok": False,
        "unhealthy": ["mcp"],
        "checks": [{"service": "mcp", "check": "ready", "ok": False, "status": "503",
                    "latency_ms": 3.0, "detail": "redis: timeout"}],
    }
