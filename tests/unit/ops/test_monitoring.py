"""docker/monitoring/ against the catalogue, and the alert rules against their promtool tests.

`nox -s validate` runs promtool itself (check config, check rules, test rules); these tests read
the YAML only: every alert is complete and tested both ways, and the scrape targets are the
catalogue's services on their ports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from noa_ops import catalogue

from .helpers import REPO

MONITORING = REPO / "docker" / "monitoring"
RULES = MONITORING / "alert-rules.yml"
RULE_TESTS = REPO / "tests" / "monitoring" / "alert-rules.test.yml"
ALERTS = {"TargetDown", "HealthCheckFailing", "HighRequestLatency", "LlamaNotReady",
          "PostgresConnectionsNearLimit", "RedisMemoryNearLimit"}
SEVERITIES = {"warning", "critical"}
SCRAPED = catalogue.SCRAPED
EXPORTERS = {exporter.name: f"{exporter.name}:{exporter.port}" for exporter in catalogue.EXPORTERS}


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path.relative_to(REPO)} is not a mapping"
    return loaded


def alert_rules() -> dict[str, dict[str, Any]]:
    rules = [rule for group in load(RULES)["groups"] for rule in group["rules"]]
    assert all("alert" in rule for rule in rules), "recording rules belong elsewhere"
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), f"an alert is defined twice: {names}"
    return {rule["alert"]: rule for rule in rules}


def rule_cases() -> list[dict[str, Any]]:
    return [case for test in load(RULE_TESTS)["tests"] for case in test["alert_rule_test"]]


def test_the_rule_file_has_the_six_alerts() -> None:
    assert set(alert_rules()) == ALERTS


def test_every_alert_has_a_severity_summary_description_and_a_one_line_runbook() -> None:
    for name, rule in alert_rules().items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook"} <= set(annotations), name
        assert all(annotations[key].strip() for key in ("summary", "description", "runbook")), name
        assert "\n" not in annotations["runbook"], f"{name}: the runbook is one line"
        assert rule.get("for"), f"{name}: an alert waits before it fires"


def test_every_alert_has_a_case_that_fires_and_one_that_must_not() -> None:
    firing = {case["alertname"] for case in rule_cases() if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in rule_cases() if not case.get("exp_alerts")}
    assert firing == ALERTS, f"no firing case: {sorted(ALERTS - firing)}"
    assert quiet == ALERTS, f"no near miss: {sorted(ALERTS - quiet)}"


def test_each_expected_alert_names_its_severity_and_all_three_annotations() -> None:
    rules = alert_rules()
    for case in rule_cases():
        for expected in case.get("exp_alerts") or []:
            name = case["alertname"]
            assert expected["exp_labels"]["severity"] == rules[name]["labels"]["severity"], name
            assert set(expected["exp_annotations"]) == {"summary", "description", "runbook"}, name


def test_the_promtool_tests_load_the_one_rule_file() -> None:
    files = load(RULE_TESTS)["rule_files"]
    assert [(RULE_TESTS.parent / name).resolve() for name in files] == [RULES.resolve()]


def scrape_jobs() -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in load(MONITORING / "prometheus.yml")["scrape_configs"]}


def targets(job: dict[str, Any]) -> list[str]:
    return [target for config in job["static_configs"] for target in config["targets"]]


def test_prometheus_scrapes_each_metrics_service_by_its_compose_name_and_catalogue_port() -> None:
    jobs = scrape_jobs()
    for name in SCRAPED:
        service = catalogue.get(name)
        assert targets(jobs[name]) == [f"{service.name}:{service.port}"], name
    for name, target in EXPORTERS.items():
        assert targets(jobs[name]) == [target], name
    assert set(jobs) == {*SCRAPED, *EXPORTERS, "prometheus"}


def test_only_llama_is_scraped_with_a_key_and_the_key_comes_from_a_file() -> None:
    """The Python services' /metrics is public; llama-server's needs its API key."""
    jobs = scrape_jobs()
    assert jobs["llama"]["authorization"] == {"credentials_file": "/tmp/llama-api-key"}
    assert [name for name, job in jobs.items() if "authorization" in job] == list(catalogue.METRICS_KEYS)


def test_prometheus_loads_the_rule_file_and_alerts_to_alertmanager() -> None:
    config = load(MONITORING / "prometheus.yml")
    assert config["rule_files"] == [RULES.name]
    managers = config["alerting"]["alertmanagers"]
    assert [target for manager in managers for target in targets(manager)] == ["alertmanager:9093"]


def test_the_jobs_rules_name_are_scrape_jobs() -> None:
    named = {job for rule in alert_rules().values() for job in re.findall(r'job!?="([^"]+)"', rule["expr"])}
    assert named == {"llama"}
    assert named <= set(scrape_jobs())


def test_alertmanager_sends_nothing_anywhere() -> None:
    config = load(MONITORING / "alertmanager.yml")
    assert config["route"]["receiver"] == "null"
    assert config["receivers"] == [{"name": "null"}]


# The series the dashboard reads: noa_common.metrics' (the app services), Prometheus' own `up`,
# the exporters' and llama-server's generation throughput gauge.
DASHBOARD_METRICS = {"up", "http_requests_total", "http_request_duration_seconds_bucket",
                     "health_check_total", "pg_up", "redis_up", "llamacpp:predicted_tokens_seconds"}
PROMQL_WORDS = {"sum", "by", "rate", "histogram_quantile", "job", "le", "check", "status", "or"}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_reads_only_series_that_something_exports() -> None:
    named = set()
    for expr in dashboard_exprs():
        bare = re.sub(r'\{[^}]*\}|\[[^]]*\]|"[^"]*"', "", expr)
        named |= set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)) - PROMQL_WORDS
    assert named == DASHBOARD_METRICS


def test_the_app_metrics_the_dashboard_reads_are_the_ones_noa_common_registers() -> None:
    from noa_common.metrics import Metrics

    registered = {metric.name for metric in Metrics("mcp").registry.collect()}
    assert {"http_requests", "http_request_duration_seconds", "health_check"} <= registered
    assert any('status=~"5.."' in expr for expr in dashboard_exprs())
    assert any('health_check_total{status="fail"}' in expr for expr in dashboard_exprs())


# -- the ui's metrics view ------------------------------------------------------------------------

UI = REPO / "services" / "ui"


def nginx_panels() -> list[str]:
    return re.findall(r"location = /panels/(\S+) \{", (UI / "nginx.conf").read_text())


def script_panels() -> list[str]:
    block = re.search(r"const PANELS = \{(.*?)\};", (UI / "html" / "dashboard.js").read_text(), re.DOTALL)
    assert block, "dashboard.js declares no PANELS"
    return re.findall(r'^\s*"([^"]+)":', block.group(1), re.MULTILINE)


def test_the_metrics_view_reads_exactly_the_panels_nginx_serves() -> None:
    """dashboard.js fetches /panels/<name> for each of its PANELS: each must have its location (policy
    holds each location to a query of the Grafana dashboard), and none may go unread."""
    assert script_panels() == nginx_panels()
    assert {"up", "request-rate", "error-rate", "latency-p95", "health-failures", "llama-tokens"} == set(
        nginx_panels())


def test_the_metrics_table_has_a_column_per_table_panel() -> None:
    """index.html's metrics table: the target, then one heading per panel that fills a column
    (llama's tokens/s is shown beside the table)."""
    page = (UI / "html" / "index.html").read_text()
    table = re.search(r'<table id="metrics-table">(.*?)</table>', page, re.DOTALL)
    assert table, "index.html has no metrics table"
    headings = re.findall(r'<th scope="col">', table.group(1))
    assert len(headings) == 1 + len(nginx_panels()) - 1


def test_the_metrics_view_refreshes_as_its_caption_says() -> None:
    script = (UI / "html" / "dashboard.js").read_text()
    interval = re.search(r"const METRICS_INTERVAL_MS = (\d+);", script)
    assert interval, "dashboard.js sets no METRICS_INTERVAL_MS"
    seconds = int(interval.group(1)) // 1000
    assert f"refreshed every {seconds} seconds</caption>" in (UI / "html" / "index.html").read_text()
    assert seconds == 15  # docs/DOCKER_GUIDE.md, "The dashboard's metrics view"
