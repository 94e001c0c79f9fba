"""The local Kubernetes cluster's figures: cold build, warm up, deploy and rollback.

- cold build: what each component's build took, from its cache stamp (each pinned version is built
  once per machine, so N is 1 and the number is from the day it was built);
- warm up: `up` with the binaries cached, to the API server healthy and to the node Ready, N times
  (only when the cluster is down at the start: an operator's running cluster is never restarted);
- deploy: `invoke deploy --env dev` into an empty namespace (images pushed, model seeded) to every
  workload Ready, N times, the namespace deleted in between;
- rollback: `invoke rollback --env dev` to Ready after a release that changed mcp's image, N times.
Deploys run in a sandbox (noa_ops.cluster.sandbox), in a namespace of the run's own.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from invoke.context import Context

from .. import models
from ..cluster import ClusterError, build, lifecycle
from ..cluster.config import ClusterConfig
from ..cluster.sandbox import Sandbox
from ..cluster.versions import COMPONENTS
from ..report import step
from .figures import Figure, timed

SECTION = "cluster"
# Targets on 2 cores (the issue that asked for the cluster, in seconds).
UP_TARGET, DEPLOY_TARGET, ROLLBACK_TARGET = 60.0, 120.0, 60.0


def cold_build(cfg: ClusterConfig) -> Figure:
    go = build.go_version(cfg)
    seconds = {comp.name: build.build_seconds(cfg, comp, go) for comp in COMPONENTS}
    unknown = sorted(name for name, value in seconds.items() if value is None)
    if unknown:
        return Figure(SECTION, "cold build, every component", "s",
                      note=f"no build time on record for {', '.join(unknown)} (built before stamps kept it)")
    parts = ", ".join(f"{name} {value:.0f}" for name, value in seconds.items() if value)
    return Figure(SECTION, "cold build, every component", "s", (sum(v for v in seconds.values() if v),),
                  note=f"from the cache stamps, N=1 per version: {parts}")


def warm_ups(cfg: ClusterConfig, runs: int) -> tuple[list[Figure], bool]:
    """Figures for `up` (cached binaries) and whether this run started the cluster (and must stop it)."""
    names = ("warm up to API server healthy", "warm up to node Ready")
    if lifecycle.is_up(cfg):
        note = "the cluster was already up: not restarted"
        return [Figure(SECTION, name, "s", note=note) for name in names], False
    api: list[float] = []
    node: list[float] = []
    for index in range(runs):
        if index:
            lifecycle.down(cfg)
        times = lifecycle.up(cfg)
        api.append(times["kube-apiserver"])
        node.append(times["node-ready"])
    return [Figure(SECTION, names[0], "s", tuple(api), note=UP_NOTE),
            Figure(SECTION, names[1], "s", tuple(node), UP_TARGET, note=UP_NOTE)], True


DEPLOY = ("deploy", "--env", "dev", "--timeout", "600")
ROLLBACK = ("rollback", "--env", "dev", "--timeout", "300")
UP_NOTE = "`invoke cluster up`, binaries cached"


def deploy_runs(sandbox: Sandbox, model: Path, runs: int) -> tuple[float, ...]:
    """Deploy into an empty namespace (model seeded) to Ready, `runs` times; the namespace goes after each."""
    seconds = []
    for _ in range(runs):
        sandbox.seed_model_claim(model, models.DEFAULT_MODEL.file_name)
        seconds.append(timed(lambda: sandbox.invoke(*DEPLOY)))
        sandbox.delete_namespace()
    return tuple(seconds)


def rollback_runs(sandbox: Sandbox, model: Path, tag: str, runs: int) -> tuple[float, ...]:
    """Roll back to Ready after a release with another mcp image, `runs` times."""
    sandbox.seed_model_claim(model, models.DEFAULT_MODEL.file_name)
    sandbox.invoke(*DEPLOY)
    other = sandbox.derived_image("mcp", f"noa/mcp:{tag}", "LABEL noa.bench=rollback", "bench")
    seconds = []
    for _ in range(runs):
        sandbox.invoke("deploy", "--env", "dev", "--service-image", f"mcp={other}", "--timeout", "300")
        seconds.append(timed(lambda: sandbox.invoke(*ROLLBACK)))
    return tuple(seconds)


def deploys(cfg: ClusterConfig, runs: int) -> list[Figure]:
    names = ("deploy dev, empty namespace, to every workload Ready", "rollback dev (mcp's image) to Ready")
    with tempfile.TemporaryDirectory(prefix="noa-bench-cluster-") as scratch:
        sandbox = Sandbox(cfg, Path(scratch), namespaces=f"noa-bench-{uuid.uuid4().hex[:6]}")
        if _exists(sandbox):
            note = f"{sandbox.namespace} exists (an operator's deploy): not touched"
            return [Figure(SECTION, name, "s", note=note) for name in names]
        sandbox.write_config()
        step("bench", "cluster: building and pushing the images to the cluster's registry")
        with sandbox.own_tags():
            pushed = sandbox.build_and_push()
            model = models.fetch_default(Context())
            try:
                deployed = deploy_runs(sandbox, model, runs)
                rolled = rollback_runs(sandbox, model, pushed["tag"], runs)
            finally:
                sandbox.delete_namespace()
    return [Figure(SECTION, names[0], "s", deployed, DEPLOY_TARGET,
                   note="`invoke deploy`, images pushed, model seeded"),
            Figure(SECTION, names[1], "s", rolled, ROLLBACK_TARGET,
                   note="`invoke rollback` after a deploy with another mcp image")]


def _exists(sandbox: Sandbox) -> bool:
    names = {item["metadata"]["name"] for item in sandbox.get("namespaces")["items"]}
    return sandbox.namespace in names


def figures(runs: int) -> list[Figure]:
    cfg = ClusterConfig.from_env()
    if os.geteuid() != 0:
        return [Figure(SECTION, "every cluster figure", "s", note="needs root (the cluster runs as root)")]
    result = [cold_build(cfg)]
    step("bench", f"cluster: warm up, {runs} runs")
    ups, started = warm_ups(cfg, runs)
    result += ups
    try:
        step("bench", f"cluster: deploy and rollback, {runs} runs each")
        result += deploys(cfg, runs)
    except ClusterError as error:
        result.append(Figure(SECTION, "deploy and rollback", "s", note=f"failed: {error}".splitlines()[0]))
    finally:
        if started:
            lifecycle.down(cfg)
    return result
