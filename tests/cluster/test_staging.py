"""staging's shape on the real local cluster: `invoke deploy --env staging` of the staging-local
variant (the staging overlay, two replicas of each app, noa-secrets from External Secrets, llama on
CPU and laptop-sized resources: the local node has two cores and no GPU).

What the variant's components need from a cluster, and this one lacks, the harness provides and
says so: the External Secrets CRD (no operator runs, so nothing syncs), a `noa-secrets` Secret
standing in for the one the operator would sync from the ClusterSecretStore, and the pinned model
in the llama-models claim (the init step's download has no route off the machine).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke.context import Context

from noa_ops import catalogue, envfile, k8s_render, models

from .conftest import Cluster, install_operator_crds, timed
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
