"""staging's shape on the real local cluster: `invoke deploy --env staging` of the staging-local
variant (the staging overlay, two replicas of each app, noa-secrets from External Secrets, llama on
CPU and laptop-sized resources: the local node has two cores and no GPU).

What the variant's components need from a cluster, and this one lacks, the harness provides and
says so: the External Secrets and Prometheus Operator CRDs (no operator runs, so nothing syncs or
scrapes), a stand-in Prometheus pod in a `monitoring` namespace, a `noa-secrets` Secret
standing in for the one the operator would sync from the ClusterSecretStore, and the pinned model
in the llama-models claim (the init step's download has no route off the machine).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke.context import Context

from noa_ops import catalogue, envfile, k8s_render, models

from .conftest import Cluster, install_operator_crds, make_restricted_namespace, restricted_pod, timed
from .operator import Operator

pytestmark = pytest.mark.cluster

ENV = "staging"
TWO = ("mcp", "claude-flow", "agenticos", "ui")  # staging's two-replica apps
ONE = ("llama", "postgres", "redis")
Staged = tuple[Operator, dict[str, Any]]


def stand_in_secret(op: Operator) -> None:
    """noa-secrets as External Secrets would sync it: every key its template writes (API_CLIENTS from
    the fresh API keys), fresh values."""
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "noa-secrets", "namespace": op.namespace,
                           "annotations": {"noa.test/stands-in-for": "ExternalSecret/noa-secrets"}},
              "stringData": k8s_render.secret_values(envfile.fresh_values(ENV))}
    op.kubectl("apply", "-f", "-", stdin=json.dumps(secret))


@pytest.fixture(scope="module")
def staged(cluster: Cluster, built: tuple[Path, dict[str, Any]]) -> Iterator[Staged]:
    home, pushed = built
    op = Operator.at(cluster, home, ENV)
    if cluster.kubectl("get", "namespace", op.namespace, check=False).returncode == 0:
        pytest.skip(f"{op.namespace} exists on the running cluster: not the tests' to touch")
    install_operator_crds(cluster)
    op.sandbox.seed_model_claim(models.fetch_default(Context()), models.DEFAULT_MODEL.file_name)
    try:
        stand_in_secret(op)
        timed("staging-local deploy, empty volumes, to every workload Ready",
              lambda: op.invoke("deploy", "--env", ENV, "--timeout", "600"))
        yield op, pushed
    finally:
        if os.environ.get("NOA_CLUSTER_KEEP") != "1":
            cluster.kubectl("delete", "namespace", op.namespace, "--wait=true", "--timeout=180s",
                            check=False)


def test_staging_deploy_runs_its_replicas_from_the_pushed_digests(staged: Staged) -> None:
    op, pushed = staged
    listing = op.get("deployments,statefulsets")
    ready = {item["metadata"]["name"]: item["status"].get("readyReplicas", 0) for item in listing["items"]}
    assert ready == {**dict.fromkeys(TWO, 2), **dict.fromkeys(ONE, 1)}
    for name, image in op.images().items():
        assert image == pushed["pushed"][name], f"{name} runs {image}, not the pushed digest"
    labels = op.cluster.get("namespace", op.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_components_objects_were_applied(staged: Staged) -> None:
    """external-secrets: the ExternalSecret, admitted through the CRD; the config says staging."""
    op, _ = staged
    external = op.get("externalsecret", "noa-secrets")
    assert external["spec"]["target"]["name"] == "noa-secrets"
    config = next(item for item in op.get("configmaps")["items"]
                  if item["metadata"]["name"].startswith("noa-config-"))
    assert config["data"]["NOA_ENV"] == "staging"
    llama = op.get("deployment", "llama")["spec"]["template"]["spec"]
    assert "nodeSelector" not in llama and "nvidia.com/gpu" not in json.dumps(llama)


def test_staging_health_passes_all_three_tiers(staged: Staged) -> None:
    op, _ = staged
    report = json.loads(op.invoke("health", "--env", ENV, "--json").stdout)
    assert report["ok"] is True and report["unhealthy"] == [], report
    seen = {(check["service"], check["check"]) for check in report["checks"] if check["ok"]}
    for service in catalogue.stack_services():
        if service.is_http:
            assert {(service.name, tier.value) for tier in catalogue.Tier} <= seen, service.name


def test_staging_status_names_its_release(staged: Staged) -> None:
    op, _ = staged
    [row] = json.loads(op.invoke("status", "--env", ENV, "--json").stdout)
    assert (row["environment"], row["target"], row["state"]) == (ENV, "kubernetes", "running"), row
    assert row["passed_gate"] is True and row["healthy_now"] is True, row


# A stand-in for the operator's Prometheus: a pod labelled app.kubernetes.io/name: prometheus in the
# monitoring namespace, behind the Service prometheus-operated (the name the operator gives it and
# the monitoring component's PROMETHEUS_URL reads). It answers every query with one series whose
# job names the path it was asked and the credentials sent, so the ui's panel shows what reached it.
# The mcp image: Python.
FAKE_PROMETHEUS = """
import http.server, json
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        asked = f"asked {self.path} with {self.headers.get('Authorization') or 'no credentials'}"
        series = {"metric": {"__name__": "up", "job": asked}, "value": [0, "1"]}
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [series]}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())
http.server.HTTPServer(("", 9090), Answer).serve_forever()
"""
FETCH = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)"


def _python(op: Operator, namespace: str, pod: str, code: str, *args: str) -> str | None:
    """Run code in the pod's python (None: it failed, as a request a NetworkPolicy drops does)."""
    answer = op.cluster.kubectl("-n", namespace, "exec", pod, "--", "timeout", "8", "python", "-c", code,
                                *args, check=False)
    return answer.stdout if answer.returncode == 0 else None


def _start_prometheus(op: Operator, namespace: str, image: str) -> None:
    make_restricted_namespace(op.cluster, namespace)
    pod = restricted_pod("prometheus", image, ["python", "-c", FAKE_PROMETHEUS],
                         labels={"app.kubernetes.io/name": "prometheus"})
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "prometheus-operated"},
               "spec": {"selector": {"app.kubernetes.io/name": "prometheus"},
                        "ports": [{"name": "web", "port": 9090, "targetPort": 9090}]}}
    for item in (pod, service):
        op.cluster.kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(item))
    op.cluster.wait_phase(namespace, "prometheus", ("Running",))


@pytest.fixture(scope="module")
def prometheus(staged: Staged) -> Iterator[str]:
    """The stand-in in the monitoring namespace, and the same in a namespace of another name (the
    near miss the NetworkPolicies must refuse); its namespace's name."""
    op, pushed = staged
    stranger = f"monitoring-{uuid.uuid4().hex[:4]}"
    try:
        for namespace in ("monitoring", stranger):
            _start_prometheus(op, namespace, pushed["pushed"]["mcp"])
        yield stranger
    finally:
        for namespace in ("monitoring", stranger):
            op.cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_the_exporters_report_their_stores_to_prometheus_only(staged: Staged, prometheus: str) -> None:
    """The monitoring component on the cluster: each store's pod runs its exporter ready beside it;
    Prometheus' pod reads pg_up 1 and redis_up 1 on the exporter ports and cannot connect to the
    stores' own ports; the same pod in another namespace cannot reach the exporters."""
    op, _ = staged
    for pod_name, exporter in (("postgres-0", "postgres-exporter"), ("redis-0", "redis-exporter")):
        statuses = op.get("pod", pod_name)["status"]["containerStatuses"]
        assert {s["name"]: s["ready"] for s in statuses}.get(exporter) is True, statuses
        assert all(s["restartCount"] == 0 for s in statuses), statuses
    address = {name: op.get("pod", f"{name}-0")["status"]["podIP"] for name in ("postgres", "redis")}
    postgres = _python(op, "monitoring", "prometheus", FETCH, f"http://{address['postgres']}:9187/metrics")
    redis = _python(op, "monitoring", "prometheus", FETCH, f"http://{address['redis']}:9121/metrics")
    assert re.search(r"^pg_up 1$", postgres or "", re.MULTILINE), (postgres or "")[-2000:]
    assert re.search(r"^redis_up 1$", redis or "", re.MULTILINE), (redis or "")[-2000:]
    assert _python(op, "monitoring", "prometheus", CONNECT, address["postgres"], "9187") is not None
    assert _python(op, "monitoring", "prometheus", CONNECT, address["postgres"], "5432") is None
    assert _python(op, "monitoring", "prometheus", CONNECT, address["redis"], "6379") is None
    assert _python(op, prometheus, "prometheus", CONNECT, address["postgres"], "9187") is None


def test_the_ui_panels_read_the_monitoring_namespace_s_prometheus(staged: Staged, prometheus: str) -> None:
    """Each ui pod's /panels/up reaches prometheus-operated.monitoring by its full name (the resolver
    its entry point wrote) through the ui's egress policy, with the panel's fixed query only: neither
    the caller's query string nor their credentials reach Prometheus."""
    op, _ = staged
    for pod in op.get("pods", "-l", "app.kubernetes.io/name=ui")["items"]:
        name = pod["metadata"]["name"]
        answer = op.kubectl("exec", name, "--", "curl", "-fsS", "--max-time", "5", "-H",
                            "Authorization: Bearer not-for-prometheus",
                            "http://127.0.0.1:9200/panels/up?query=secret", check=False)
        assert answer.returncode == 0, (name, answer.stderr)
        [series] = json.loads(answer.stdout)["data"]["result"]
        assert series["metric"]["job"] == "asked /api/v1/query?query=up with no credentials", series
