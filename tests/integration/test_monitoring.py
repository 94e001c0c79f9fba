"""The monitoring profile on the running stack: the suite deploys it (suite.py), so these talk to the
suite's own Prometheus, Alertmanager and exporters over their published ports and the engine.

Prometheus scrapes every job of docker/monitoring/prometheus.yml and each is up (llama's with its
API key); it holds exactly the alert rules of docker/monitoring/alert-rules.yml; the exporters
report Postgres and Redis with their limits; their logins see statistics and no data; and
`invoke health` covers the profile (its hardening: test_hardening.py)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from docker.models.containers import Container

from .helpers import (
    PROJECT,
    Response,
    all_ready,
    base_url,
    get,
    http,
    invoke,
    key_of,
    postgres_prefix,
    stack_containers,
    wait_for,
)
from .suite import REPO

pytestmark = pytest.mark.integration

CONFIG = yaml.safe_load((REPO / "docker/monitoring/prometheus.yml").read_text())
RULES = yaml.safe_load((REPO / "docker/monitoring/alert-rules.yml").read_text())
JOBS = sorted(job["job_name"] for job in CONFIG["scrape_configs"])
ALERTS = sorted(rule["alert"] for group in RULES["groups"] for rule in group["rules"] if "alert" in rule)


def prometheus(path: str, **query: str) -> Any:
    """GET a Prometheus API path on the suite's published port; its `data`."""
    url = f"{base_url('prometheus')}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    reply = get(url, timeout=10, auth=None)
    assert reply.status == 200, (url, reply.status, reply.body[:500])
    body = reply.json()
    assert body["status"] == "success", body
    return body["data"]


def target_health() -> dict[str, str]:
    return {target["labels"]["job"]: target["health"]
            for target in prometheus("/api/v1/targets", state="active")["activeTargets"]}


def value(query: str) -> float:
    [sample] = prometheus("/api/v1/query", query=query)["result"]
    return float(sample["value"][1])


def test_every_scrape_job_is_up(stack: None) -> None:
    """Each job of prometheus.yml, scraped once at least (15 s interval): health "up", llama's
    included (its /metrics answers only to the API key the entrypoint hands Prometheus)."""
    wait_for(lambda: set(target_health().values()) == {"up"} and sorted(target_health()) == JOBS, 90,
             "every Prometheus target up")
    assert value('up{job="llama"}') == 1


def test_prometheus_holds_exactly_the_rule_file_s_alerts(stack: None) -> None:
    loaded = sorted(rule["name"] for group in prometheus("/api/v1/rules")["groups"]
                    for rule in group["rules"] if rule["type"] == "alerting")
    assert loaded == ALERTS and len(ALERTS) == 6
    assert prometheus("/api/v1/alertmanagers")["activeAlertmanagers"], "no Alertmanager to send to"


def test_the_exporters_report_postgres_and_redis_with_their_limits(stack: None) -> None:
    wait_for(lambda: target_health().get("redis-exporter") == "up", 60, "the exporters scraped")
    assert value("pg_up") == 1 and value("redis_up") == 1
    assert value("pg_settings_max_connections") > 0
    assert value("redis_memory_max_bytes") == 192 * 1024 * 1024  # docker/redis/redis.conf maxmemory
    assert value('sum(pg_stat_activity_count{datname="noa"})') >= 1  # the services' pools


DASHBOARD = json.loads((REPO / "docker/monitoring/grafana-dashboard.json").read_text())
PANEL_QUERIES = [(panel["title"], target["expr"]) for panel in DASHBOARD["panels"]
                 for target in panel.get("targets", [])]


@pytest.mark.parametrize(("panel", "query"), PANEL_QUERIES, ids=[f"{title}: {expr[:40]}"
                                                                for title, expr in PANEL_QUERIES])
def test_every_dashboard_query_returns_data(stack: None, panel: str, query: str) -> None:
    """Each query of the Grafana dashboard (docker/monitoring/grafana-dashboard.json), as Grafana
    would send it, answers without an error and with at least one series on the running stack."""
    wait_for(lambda: set(target_health().values()) == {"up"}, 90, "every Prometheus target up")
    wait_for(lambda: bool(prometheus("/api/v1/query", query=query)["result"]), 60, f"{panel}: {query} data")


# The ui's metrics view: nginx answers /panels/<name> with Prometheus' result of that panel's
# fixed query (services/ui/nginx.conf; tests/policy holds each to a query of the dashboard).
PANELS = re.findall(r"location = /panels/(\S+) \{", (REPO / "services/ui/nginx.conf").read_text())


def panel(name: str, suffix: str = "") -> Response:
    return get(f"{base_url('ui')}/panels/{name}{suffix}", auth=None)


def panel_series(name: str, suffix: str = "") -> list[dict[str, Any]]:
    reply = panel(name, suffix)
    assert reply.status == 200, (name, reply.status, reply.body[:300])
    body = reply.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def panel_has_data(name: str) -> bool:
    """Whether /panels/<name> answers 200 with at least one series (a 502: not yet)."""
    return panel(name).status == 200 and bool(panel_series(name))


@pytest.mark.parametrize("name", PANELS)
def test_the_ui_serves_each_panel_with_data_to_anyone(stack: None, name: str) -> None:
    wait_for(lambda: set(target_health().values()) == {"up"}, 90, "every Prometheus target up")
    wait_for(lambda: panel_has_data(name), 60, f"/panels/{name} with data")


def test_a_panel_answers_its_own_query_whatever_the_caller_asks(stack: None) -> None:
    """The caller's query string never reaches Prometheus, which would answer it (the near miss:
    asked directly, it does), and a write is refused."""
    asked = "?" + urllib.parse.urlencode({"query": "pg_settings_max_connections"})
    assert {series["metric"]["__name__"] for series in panel_series("up", asked)} == {"up"}
    assert value("pg_settings_max_connections") > 0
    assert http("POST", f"{base_url('ui')}/panels/up", {}, auth=None).status == 403


def test_without_prometheus_a_panel_says_so_and_recovers(stack: None, engine: docker.DockerClient) -> None:
    """The ui looks Prometheus up per request: with it stopped, a panel answers 502 with a JSON
    reason (and nginx keeps serving); started again, the panel has data again."""
    stack_prometheus = stack_containers(engine)["prometheus"]
    stack_prometheus.stop(timeout=10)
    try:
        wait_for(lambda: panel("up").status == 502, 30, "/panels/up to answer 502 without Prometheus")
        assert panel("up").json() == {"status": "fail", "error": "upstream unavailable"}
        assert get(f"{base_url('ui')}/status/mcp", auth=None).status == 200
    finally:
        stack_prometheus.start()
    wait_for(lambda: panel_has_data("up"), 90, "/panels/up with data after Prometheus is back")


def test_the_ui_refuses_a_prometheus_url_that_is_not_a_base_url(
        engine: docker.DockerClient, containers: dict[str, Container]) -> None:
    """The entry point writes PROMETHEUS_URL into nginx's configuration: anything but
    scheme://host[:port] gets one line and exit 2 before nginx starts. The near miss beside it, a
    trailing slash, is accepted and written without it."""
    image = containers["ui"].image.id
    for bad in ("http://prometheus:9090/api", 'http://x"; include /etc/passwd; #', "prometheus:9090", ""):
        with pytest.raises(docker.errors.ContainerError) as refused:
            engine.containers.run(image, ["true"], environment={"PROMETHEUS_URL": bad}, remove=True)
        assert refused.value.exit_status == 2, bad
        stderr = (refused.value.stderr or b"").decode()
        assert stderr.startswith("noa-ui: PROMETHEUS_URL") and stderr.count("\n") == 1, stderr
    written = engine.containers.run(image, ["cat", "/tmp/noa-ui.conf"], remove=True,
                                    environment={"PROMETHEUS_URL": "http://prometheus:9090/"}).decode()
    assert 'map $uri $prometheus_url { default "http://prometheus:9090"; }' in written
    assert re.search(r"^resolver \S+ valid=10s ipv6=off;$", written, re.MULTILINE), written


def test_alertmanager_is_ready_and_silent(stack: None) -> None:
    assert get(f"{base_url('alertmanager')}/-/ready", auth=None).status == 200
    reply = get(f"{base_url('alertmanager')}/api/v2/status", auth=None)
    assert reply.status == 200 and reply.json()["config"]["original"].count("receiver:") == 1


def test_the_exporters_logins_see_statistics_and_no_data(containers: dict[str, Container]) -> None:
    """noa_monitor may read pg_stat_activity, not a table; Redis's noa_monitor may run INFO, not GET
    or KEYS (the near miss beside each refusal: what it may do)."""
    def as_monitor(sql: str) -> subprocess.CompletedProcess[str]:
        script = ('PGPASSWORD="$MONITOR_POSTGRES_PASSWORD" psql -X -h 127.0.0.1 -U noa_monitor '
                  '-d "$POSTGRES_DB" -Atc "$0"')
        return subprocess.run([*postgres_prefix(), "sh", "-c", script, sql], capture_output=True,
                              text=True, check=False, timeout=60)

    assert as_monitor("SELECT count(*) > 0 FROM pg_stat_activity").stdout.strip() == "t"
    refused = as_monitor("SELECT count(*) FROM noa_agents.agents")
    assert refused.returncode != 0 and "permission denied" in refused.stderr, refused.stderr
    redis = containers["redis"]

    def redis_as_monitor(*command: str) -> str:
        script = 'REDISCLI_AUTH="$MONITOR_REDIS_PASSWORD" redis-cli --no-auth-warning --user noa_monitor "$@"'
        result = redis.exec_run(["sh", "-c", script, "sh", *command])
        return result.output.decode().strip()

    assert "maxmemory:" in redis_as_monitor("INFO", "memory")
    for command in (("GET", "noa:flow:queue"), ("KEYS", "*"), ("CONFIG", "GET", "requirepass")):
        assert "NOPERM" in redis_as_monitor(*command), command


def test_health_covers_the_monitoring_profile(stack: None) -> None:
    result = invoke("health", "--env", "dev", "--json")
    checks = json.loads(result.stdout)["checks"]
    seen = {(check["service"], check["check"]): check["ok"] for check in checks}
    for name in ("prometheus", "alertmanager"):
        assert all(seen[(name, tier)] for tier in ("live", "ready", "startup")), seen
    for name in ("postgres-exporter", "redis-exporter"):
        assert [ok for (service, _), ok in seen.items() if service == name] == [True], seen


# The firing drill: a Prometheus of the test's own, from the same image and the same scrape
# configuration, with the rule file's `for:` durations and the intervals cut to seconds, so an
# alert that takes 5 minutes on the stack fires in seconds; it sends to the suite's Alertmanager.
DRILL_INTERVAL = "2s"
DRILL_FOR = "6s"


def drill_config(directory: Path) -> Path:
    config = dict(CONFIG, **{"global": {"scrape_interval": DRILL_INTERVAL, "scrape_timeout": DRILL_INTERVAL,
                                        "evaluation_interval": DRILL_INTERVAL}})
    rules = copy.deepcopy(RULES)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = DRILL_FOR
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    (directory / "alert-rules.yml").write_text(yaml.safe_dump(rules))
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


@pytest.fixture
def drill_prometheus(engine: docker.DockerClient, tmp_path: Path) -> Iterator[str]:
    """The drill's Prometheus on the stack's networks; its API's address on the monitoring network
    is reached through `docker exec` (it publishes nothing)."""
    stack_prometheus = stack_containers(engine)["prometheus"]
    networks = list(stack_prometheus.attrs["NetworkSettings"]["Networks"])
    container = engine.containers.run(
        stack_prometheus.image.id, detach=True, name=f"{PROJECT}-drill-prometheus",
        environment={"LLAMA_API_KEY": key_of("LLAMA_API_KEY")}, network=networks[0],
        volumes={str(drill_config(tmp_path)): {"bind": "/etc/drill", "mode": "ro"}},
        command=["--config.file=/etc/drill/prometheus.yml", "--storage.tsdb.path=/prometheus",
                 "--web.listen-address=:9090"],
        read_only=True, tmpfs={"/tmp": "size=16m"}, user="10001:10001", cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"], labels={"noa-test": "monitoring-drill"})
    try:
        for network in networks[1:]:
            engine.networks.get(network).connect(container)
        yield container.name
    finally:
        container.remove(force=True, v=True)


def firing(engine: docker.DockerClient, prometheus_container: str, alert: str) -> set[str]:
    """The jobs for which Alertmanager holds `alert` as active (its API from inside the drill's
    Prometheus container, which reaches alertmanager:9093 by name)."""
    url = "http://alertmanager:9093/api/v2/alerts?active=true&silenced=false&inhibited=false"
    result = engine.containers.get(prometheus_container).exec_run(["curl", "-fsS", "--max-time", "3", url])
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return {item["labels"].get("job", "") for item in json.loads(result.output)
            if item["labels"].get("alertname") == alert}


def test_a_stopped_service_fires_target_down_at_alertmanager_and_it_resolves(
        stack: None, engine: docker.DockerClient, drill_prometheus: str) -> None:
    claude_flow = stack_containers(engine)["claude-flow"]
    wait_for(lambda: not firing(engine, drill_prometheus, "TargetDown"), 60, "no TargetDown before the drill")
    claude_flow.stop(timeout=10)
    try:
        wait_for(lambda: "claude-flow" in firing(engine, drill_prometheus, "TargetDown"), 90,
                 "TargetDown for claude-flow at Alertmanager")
        assert firing(engine, drill_prometheus, "TargetDown") == {"claude-flow"}  # only the stopped one
    finally:
        claude_flow.start()
    wait_for(lambda: "claude-flow" not in firing(engine, drill_prometheus, "TargetDown"), 120,
             "TargetDown for claude-flow resolved")
    wait_for(all_ready, 120, "every service ready after the drill")
