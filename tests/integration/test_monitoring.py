"""The monitoring profile on the running stack: the suite deploys it (suite.py), so these talk to the
suite's own Prometheus, Alertmanager and exporters over their published ports and the engine.

Prometheus scrapes every job of docker/monitoring/prometheus.yml and each is up (llama's with its
API key); it holds exactly the alert rules of docker/monitoring/alert-rules.yml; the exporters
report Postgres and Redis with their limits; their logins see statistics and no data; and
`invoke health` covers the profile (its hardening: test_hardening.py)."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from typing import Any

import docker
import pytest
import yaml
from docker.models.containers import Container

from .helpers import PROJECT, base_url, get, invoke, wait_for
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
    assert reply.status == 200, (url, reply.status, reply.text[:500])
    body = json.loads(reply.text)
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


def test_alertmanager_is_ready_and_silent(stack: None) -> None:
    assert get(f"{base_url('alertmanager')}/-/ready", auth=None).status == 200
    reply = get(f"{base_url('alertmanager')}/api/v2/status", auth=None)
    assert reply.status == 200 and json.loads(reply.text)["config"]["original"].count("receiver:") == 1


def _container(engine: docker.DockerClient, service: str) -> Container:
    labels = [f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}"]
    [found] = engine.containers.list(filters={"label": labels})
    return found


def test_the_exporters_logins_see_statistics_and_no_data(engine: docker.DockerClient) -> None:
    """noa_monitor may read pg_stat_activity, not a table; Redis's noa_monitor may run INFO, not GET
    or KEYS (the near miss beside each refusal: what it may do)."""
    postgres = _container(engine, "postgres")

    def as_monitor(sql: str) -> subprocess.CompletedProcess[str]:
        script = ('PGPASSWORD="$MONITOR_POSTGRES_PASSWORD" psql -X -h 127.0.0.1 -U noa_monitor '
                  '-d "$POSTGRES_DB" -Atc "$0"')
        return subprocess.run(["docker", "exec", postgres.name, "sh", "-c", script, sql], capture_output=True,
                              text=True, check=False, timeout=60)

    assert as_monitor("SELECT count(*) > 0 FROM pg_stat_activity").stdout.strip() == "t"
    refused = as_monitor("SELECT count(*) FROM noa_agents.agents")
    assert refused.returncode != 0 and "permission denied" in refused.stderr, refused.stderr
    redis = _container(engine, "redis")

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
