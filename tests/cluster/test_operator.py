"""The operator verbs on the real local cluster: deploy of the dev variant, health, logs, status,
stop (claims kept), rollback (config and images come back), a broken release rolled back by
itself, NetworkPolicies and a PDB as the cluster enforces them. The module deploys once (the
`deployed` fixture) and the tests run in file order on that deployment; the namespace goes at the
end.

What the cluster cannot do by itself, the harness does and says so: it puts the pinned model into
the llama-models claim (the init step's download has no route off the machine).
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke.context import Context

from noa_ops import backups, catalogue, envfile, models
from noa_ops.cluster import volumes
from noa_ops.settings_catalogue import api_keys
from tests.integration import api_routes, settings_probe
from tests.integration.data_tier import expected, outcomes, probe_command

from .conftest import Cluster, make_restricted_namespace, restricted_pod, timed
from .operator import NAMESPACE, Operator

pytestmark = pytest.mark.cluster

APPS = ("mcp", "claude-flow", "agenticos", "llama", "ui")
WORKLOADS = (*APPS, "postgres", "redis")
Deployed = tuple[Operator, dict[str, Any]]  # the operator and what `invoke push --json` printed


@pytest.fixture(scope="module")
def deployed(cluster: Cluster, built: tuple[Path, dict[str, Any]]) -> Iterator[Deployed]:
    if cluster.kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0:
        pytest.skip(f"{NAMESPACE} exists on the running cluster: an operator's deploy, which the tests "
                    f"never touch")
    home, pushed = built
    op = Operator.at(cluster, home, "dev")
    model = models.fetch_default(Context())
    op.sandbox.seed_model_claim(model, models.DEFAULT_MODEL.file_name)
    with (home / "dev.env").open("a") as env_file:  # what an operator sets: it must reach the pods
        env_file.write(settings_probe.env_lines())
    timed("deploy, empty volumes, to every workload Ready",
          lambda: op.invoke("deploy", "--env", "dev", "--timeout", "600"))
    try:
        yield op, pushed
    finally:
        if os.environ.get("NOA_CLUSTER_KEEP") != "1":
            cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=true", "--timeout=180s", check=False)


def test_deploy_made_every_workload_ready_from_pinned_digests(deployed: Deployed) -> None:
    op, pushed = deployed
    listing = op.get("deployments,statefulsets")
    ready = {item["metadata"]["name"]: item["status"].get("readyReplicas", 0) for item in listing["items"]}
    assert ready == dict.fromkeys(WORKLOADS, 1)
    for name, image in op.images().items():
        assert image == pushed["pushed"][name], f"{name} runs {image}, not the pushed digest"
        assert image.startswith(f"{op.cluster.cfg.registry}/noa/{name}@sha256:")
    labels = op.cluster.get("namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_readiness_probes_hit_the_real_endpoints(deployed: Deployed) -> None:
    op, _ = deployed
    for service in catalogue.stack_services():
        if not service.is_http:
            continue
        pod = op.get("pods", "-l", f"app.kubernetes.io/name={service.name}")["items"][0]
        probe = pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]
        answer = op.kubectl("get", "--raw",
                            f"/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}:"
                            f"{service.port}/proxy{probe['path']}", check=False)
        assert answer.returncode == 0, f"{service.name} {probe['path']}: {answer.stderr}"


def test_health_passes_all_three_tiers_through_port_forwards(deployed: Deployed) -> None:
    op, _ = deployed
    report = json.loads(op.invoke("health", "--env", "dev", "--json").stdout)
    assert report["ok"] is True and report["unhealthy"] == [], report
    seen = {(check["service"], check["check"]) for check in report["checks"] if check["ok"]}
    for service in catalogue.stack_services():
        expected = {(service.name, tier.value) for tier in catalogue.Tier} if service.is_http else \
            {(service.name, "workload")}
        assert expected <= seen, (service.name, sorted(seen))


def test_logs_merge_the_pods_and_filter(deployed: Deployed) -> None:
    op, _ = deployed
    merged = op.invoke("logs", "--env", "dev", "--tail", "50").stdout.splitlines()
    services = {line.split()[0] for line in merged if line.strip()}
    assert {"mcp", "claude-flow", "agenticos"} <= services, merged[:20]
    only = op.invoke("logs", "--env", "dev", "--service", "mcp", "--tail", "20").stdout.splitlines()
    assert only and all(line.split()[0] == "mcp" for line in only if line.strip()), only
    none = op.invoke("logs", "--env", "dev", "--service", "mcp", "--grep", f"absent-{uuid.uuid4().hex}")
    assert [line for line in none.stdout.splitlines() if line.startswith("mcp")] == []


def test_status_names_the_release_and_its_health(deployed: Deployed) -> None:
    op, _ = deployed
    [row] = json.loads(op.invoke("status", "--env", "dev", "--json").stdout)
    assert (row["target"], row["state"], row["action"]) == ("kubernetes", "running", "deploy"), row
    assert row["passed_gate"] is True and row["healthy_now"] is True, row
    assert row["release"] and row["tag"], row


def _connects(op: Operator, pod: str, host: str, port: int, container: str | None = None) -> bool:
    words = ["exec", pod, *(["-c", container] if container else []), "--", "timeout", "5", "bash", "-c",
             f"echo > /dev/tcp/{host}/{port}"]
    return op.kubectl(*words, check=False).returncode == 0


def _python_connects(op: Operator, pod: str, host: str, port: int) -> bool:
    code = f"import socket; socket.create_connection(({host!r}, {port}), timeout=5)"
    return op.kubectl("exec", pod, "--", "python", "-c", code, check=False).returncode == 0


def _pod_of(op: Operator, name: str) -> str:
    return str(op.get("pods", "-l", f"app.kubernetes.io/name={name}")["items"][0]["metadata"]["name"])


def test_network_policies_keep_strangers_off_the_data_and_let_mcp_in(
        deployed: Deployed, test_image: str) -> None:
    op, _ = deployed
    stranger = restricted_pod(f"stranger-{uuid.uuid4().hex[:6]}", test_image, ["sleep", "3600"],
                              labels={"app": "stranger"})
    op.kubectl("apply", "-f", "-", stdin=json.dumps(stranger))
    try:
        op.cluster.wait_phase(NAMESPACE, stranger["metadata"]["name"], ("Running",))
        assert not _connects(op, stranger["metadata"]["name"], "postgres", 5432)
        assert not _connects(op, stranger["metadata"]["name"], "redis", 6379)
        mcp = _pod_of(op, "mcp")
        assert _python_connects(op, mcp, "postgres", 5432)
        assert _python_connects(op, mcp, "redis", 6379)
    finally:
        op.kubectl("delete", "pod", stranger["metadata"]["name"], "--wait=false", check=False)


def test_ingress_reaches_the_ui_only_from_the_controller_as_declared(deployed: Deployed,
                                                                    test_image: str) -> None:
    """ui admits ingress-nginx's pods from the ingress-nginx namespace, on 9200 only; the near
    misses (the right label in another namespace, another label in the right one) are refused."""
    op, _ = deployed
    ui = f"ui.{NAMESPACE}.svc.{op.cluster.cfg.cluster_domain}"
    cases = [("ingress-nginx", "ingress-nginx", True), ("ingress-nginx", "ingress-nginx-admission", False),
             (f"ingress-nginx-{uuid.uuid4().hex[:4]}", "ingress-nginx", False)]
    made: list[str] = []
    try:
        for namespace, _, _ in cases:
            if namespace not in made:
                make_restricted_namespace(op.cluster, namespace)
                made.append(namespace)
        results = []
        for index, (namespace, label, _) in enumerate(cases):
            pod = restricted_pod(f"client-{index}", test_image, ["sleep", "3600"],
                                 labels={"app.kubernetes.io/name": label})
            op.cluster.kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(pod))
            op.cluster.wait_phase(namespace, pod["metadata"]["name"], ("Running",))
            probe = ["-n", namespace, "exec", pod["metadata"]["name"], "--", "timeout", "5", "bash", "-c"]
            answer = op.cluster.kubectl(*probe, f"echo > /dev/tcp/{ui}/9200", check=False)
            results.append(answer.returncode == 0)
            if label == "ingress-nginx" and namespace == "ingress-nginx":
                mcp = f"mcp.{NAMESPACE}.svc.{op.cluster.cfg.cluster_domain}"
                assert op.cluster.kubectl(*probe, f"echo > /dev/tcp/{mcp}/8001", check=False).returncode != 0
        assert results == [allowed for _, _, allowed in cases]
    finally:
        for namespace in made:
            op.cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_dns_resolves_the_services_by_name_from_every_app_pod(deployed: Deployed) -> None:
    """postgres and redis are headless (their pod's address), the others have a cluster IP. The
    Python pods ask as the services do (socket.gethostbyname), ui and llama with getent."""
    op, _ = deployed
    expected = {"postgres": op.get("pod", "postgres-0")["status"]["podIP"],
                "redis": op.get("pod", "redis-0")["status"]["podIP"],
                "llama": op.get("service", "llama")["spec"]["clusterIP"],
                "mcp": op.get("service", "mcp")["spec"]["clusterIP"]}
    code = f"import socket; print(*(socket.gethostbyname(name) for name in {sorted(expected)!r}))"
    for name in ("mcp", "claude-flow", "agenticos"):
        answer = op.kubectl("exec", _pod_of(op, name), "--", "python", "-c", code, check=False)
        assert answer.returncode == 0, (name, answer.stderr)
        assert answer.stdout.split() == [expected[key] for key in sorted(expected)], name
    for name in ("ui", "llama"):
        for host, address in expected.items():
            answer = op.kubectl("exec", _pod_of(op, name), "--", "getent", "hosts", host, check=False)
            assert answer.returncode == 0 and answer.stdout.split()[0] == address, (name, host, answer)


def test_each_app_pod_s_data_login_reaches_its_own_data_only(deployed: Deployed) -> None:
    """The data-tier attack of tests/integration/test_data_tier.py, from each app pod: its own
    Postgres role and Redis user (passwords from noa-secrets) reach its own tables and keys only."""
    op, _ = deployed
    for name in ("mcp", "claude-flow", "agenticos"):
        answer = op.kubectl("exec", _pod_of(op, name), "--", *probe_command(name), check=False)
        assert answer.returncode == 0, (name, answer.stderr[-2000:])
        assert outcomes(answer.stdout) == expected(name), name


def test_settings_set_in_the_env_file_reach_each_app_pod(deployed: Deployed) -> None:
    """The env file's settings went into noa-config, the pods read them, and each service's own
    parse (GET /settings, with the operator's key) reports every one."""
    op, _ = deployed
    key = envfile.read_values(op.sandbox.home / "dev.env")["OPERATOR_API_KEY"]
    for name in ("mcp", "claude-flow", "agenticos"):
        command = settings_probe.read_settings_command(name)
        answer = op.kubectl("exec", "-i", _pod_of(op, name), "--", *command, stdin=key, check=False)
        assert answer.returncode == 0, (name, answer.stderr[-2000:])
        body = json.loads(answer.stdout)
        assert body["problems"] == [], body
        assert settings_probe.mismatches(name, body["settings"]) == {}, name
        assert key not in answer.stdout


def test_db_backup_dumps_the_cluster_s_database_through_kubectl_exec(deployed: Deployed,
                                                                   tmp_path: Path) -> None:
    op, _ = deployed
    agents = int(op.sql("SELECT count(*) FROM noa_agents.agents"))
    result = op.invoke("db-backup", "--env", "dev", "--out", str(tmp_path))
    [manifest_path] = tmp_path.glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["tables"]["noa_agents.agents"]["rows"] == agents
    assert manifest_path.with_name(manifest["dump"]).read_bytes()[:5] == b"PGDMP"
    assert manifest["environment"] == "dev" and manifest_path.name in result.stderr


def test_db_restore_brings_the_backup_back_and_the_writers_with_their_replicas(
        deployed: Deployed, tmp_path: Path) -> None:
    op, _ = deployed
    op.sql("CREATE TABLE IF NOT EXISTS noa_core.restore_rows (v text); "
           "INSERT INTO noa_core.restore_rows VALUES ('in-the-backup')")
    op.invoke("db-backup", "--env", "dev", "--out", str(tmp_path))
    [manifest] = tmp_path.glob("*.json")
    op.sql("INSERT INTO noa_core.restore_rows VALUES ('after-the-backup')")
    refused = op.invoke("db-restore", "--env", "dev", "--from", str(manifest), check=False)
    assert refused.returncode == 1 and "--yes replaces them" in refused.stderr, refused.stderr[-2000:]
    assert "after-the-backup" in op.sql("SELECT v FROM noa_core.restore_rows")  # nothing changed
    restored = op.invoke("db-restore", "--env", "dev", "--from", str(manifest), "--yes")
    assert "each with the backup's rows and checksum" in restored.stderr, restored.stderr[-2000:]
    assert op.sql("SELECT v FROM noa_core.restore_rows ORDER BY v").split() == ["in-the-backup"]
    listing = op.get("deployments")["items"]
    assert {item["metadata"]["name"]: item["status"].get("readyReplicas", 0) for item in listing} == \
        dict.fromkeys(APPS, 1)
    assert not [item for item in listing if "noa-server/replicas-before-restore"
                in (item["metadata"].get("annotations") or {})], "a paused replica count was left behind"
    op.sql("DROP TABLE noa_core.restore_rows")


def _finished(op: Operator, job: str, timeout: float = 240) -> dict[str, Any]:
    """The Job once it has completed; its pods' logs and events in the failure otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = op.get("job", job).get("status", {})
        if status.get("succeeded") or status.get("failed"):
            break
        time.sleep(1)
    if not status.get("succeeded"):
        logs = op.kubectl("logs", f"job/{job}", "--tail=20", check=False)
        events = op.kubectl("get", "events", "--field-selector", f"involvedObject.name={job}", check=False)
        raise AssertionError(f"job {job}: {status}\n{logs.stdout}{logs.stderr}\n{events.stdout}")
    return op.get("job", job)


def test_the_backup_cronjob_writes_to_its_claim_a_backup_db_restore_accepts(deployed: Deployed) -> None:
    """A Job made from the CronJob (admitted by the restricted namespace, reaching postgres through
    its NetworkPolicy, logging in as noa_backup) leaves in the postgres-backups claim a 0600 dump, its
    checksum and a manifest counting the rows the database holds, and `invoke db-restore` restores
    from it, read where the claim lies on the node."""
    op, _ = deployed
    agents = int(op.sql("SELECT count(*) FROM noa_agents.agents"))
    job = f"backup-{uuid.uuid4().hex[:6]}"
    op.kubectl("create", "job", "--from=cronjob/postgres-backup", job)
    _finished(op, job)
    logs = op.kubectl("logs", f"job/{job}").stdout
    said = re.search(r"noa-postgres-backup: wrote /backups/(noa-\S+)\.dump ", logs)
    assert said, "the job names what it wrote"
    claim = op.get("pvc", "postgres-backups")
    directory = volumes.host_path(op.cluster.cfg, op.cluster.get("pv", claim["spec"]["volumeName"]))
    manifest = directory / f"{said.group(1)}.json"
    assert said.group(1).startswith(f"noa-{NAMESPACE}-")
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    dump, loaded = backups.load_manifest(str(manifest))
    assert dump.read_bytes()[:5] == b"PGDMP" and loaded["environment"] == NAMESPACE
    assert loaded["tables"]["noa_agents.agents"]["rows"] == agents
    restored = op.invoke("db-restore", "--env", "dev", "--from", str(manifest), "--yes")
    assert "each with the backup's rows and checksum" in restored.stderr, restored.stderr[-2000:]
    op.kubectl("delete", "job", job, "--wait=false", check=False)


# Each API's calls run inside the cluster: the Python services' from their own pod on loopback,
# llama's from the claude-flow pod (the one the NetworkPolicies let in), through its Service.
CALLER = {"llama": ("claude-flow", "http://llama:9300")}


def _attacks() -> dict[str, list[tuple[tuple[str, str, str, object, str], str, int]]]:
    """pod's service -> [(call, what, expected status)] for every route of tests/integration/api_routes.py:
    no key, the real key one character short, its digest: 401; claude-flow's key where it is not
    its: 403; and a control that the real key gets through: 200."""
    attacks: dict[str, list[tuple[tuple[str, str, str, object, str], str, int]]] = {}
    for name, method, path, body in api_routes.ROUTES:
        pod, base = CALLER.get(name, (name, f"http://127.0.0.1:{catalogue.get(name).port}"))
        real = "llama" if name == "llama" else "operator"
        tries = [("none", 401), (f"{real}-short", 401), (f"{real}-digest", 401)]
        if (name, method, path, body) in api_routes.NOT_CLAUDE_FLOW_S:
            tries.append(("claude-flow", 403))
        if method == "GET" and "{" not in path and api_routes.ANY_ID not in path:
            tries.append((real, 200))
        for token, status in tries:
            attacks.setdefault(pod, []).append(((base, method, path, body, token), f"{name} {method} {path} "
                                                f"as {token}", status))
    return attacks


def test_every_api_route_refuses_strangers_inside_the_cluster(deployed: Deployed) -> None:
    """tests/integration/test_attacks.py's callers, on the cluster: keys from the sandbox's env file."""
    op, _ = deployed
    keys = envfile.read_values(op.sandbox.home / "dev.env")
    tokens: dict[str, str | None] = {"none": None, "claude-flow": keys["CLAUDE_FLOW_API_KEY"]}
    for name, variable in (("operator", "OPERATOR_API_KEY"), ("llama", "LLAMA_API_KEY")):
        tokens |= {name: keys[variable], f"{name}-short": keys[variable][:-1],
                   f"{name}-digest": api_keys.key_digest(keys[variable])}
    for pod, attacks in _attacks().items():
        command = api_routes.probe_command([call for call, _, _ in attacks])
        answer = op.kubectl("exec", "-i", _pod_of(op, pod), "--", *command, stdin=json.dumps(tokens),
                            check=False)
        assert answer.returncode == 0, (pod, answer.stderr[-2000:])
        got = dict(zip([what for _, what, _ in attacks], json.loads(answer.stdout), strict=True))
        assert got == {what: status for _, what, status in attacks}, pod


def _main_pid(container_id: str) -> int:
    """The host PID of a container's first process (the cluster shares the host's PID namespace):
    of the processes in its cgroup whose parent is not, the oldest. An exec probe running at that
    moment (redis's healthcheck, every 5 s) is such a root too, started later."""
    members: dict[int, tuple[int, int]] = {}  # pid: (parent, start time in clock ticks)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if container_id in (entry / "cgroup").read_text():
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                members[int(entry.name)] = (int(fields[1]), int(fields[19]))
        except OSError:
            continue  # gone meanwhile
    roots = {pid: started for pid, (parent, started) in members.items() if parent not in members}
    return min(roots, key=roots.__getitem__)


def _container_status(op: Operator, name: str) -> tuple[str, dict[str, Any]]:
    [pod] = [item for item in op.get("pods", "-l", f"app.kubernetes.io/name={name}")["items"]
             if not item["metadata"].get("deletionTimestamp")]
    [status] = [s for s in pod["status"]["containerStatuses"] if s["name"] == name]
    return pod["metadata"]["name"], status


def _ready_again(op: Operator, name: str, pod: str, restarts: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now, status = _container_status(op, name)
        if now == pod and status["restartCount"] > restarts and status.get("ready"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} ({pod}) is not ready again after kill -9, {timeout} s: {status}")


def test_kill_9_of_each_container_s_main_process_and_it_is_ready_again_rows_intact(
        deployed: Deployed) -> None:
    """The drill of tests/integration/test_drills.py on the cluster: SIGKILL to each workload's main
    process (from the host: PID 1 of a container ignores a kill from inside it); the kubelet restarts
    the container in the same pod, it is ready again, every other workload is ready by itself, the
    rows are intact and `invoke health` passes."""
    op, _ = deployed
    op.sql("CREATE TABLE IF NOT EXISTS noa_core.drill_rows (v int); "
           "INSERT INTO noa_core.drill_rows SELECT generate_series(1, 100)")
    figures = "SELECT count(*) || ':' || md5(string_agg(v::text, ',' ORDER BY v)) FROM noa_core.drill_rows"
    before = op.sql(figures)
    for name in WORKLOADS:
        pod, status = _container_status(op, name)
        os.kill(_main_pid(status["containerID"].partition("://")[2]), signal.SIGKILL)
        restarts = status["restartCount"]
        timed(f"kill -9 of {name}'s main process to Ready again",
              lambda name=name, pod=pod, restarts=restarts: _ready_again(op, name, pod, restarts))
    op.kubectl("wait", "--for=condition=Ready", "pod", "--timeout=180s",
               "-l", f"app.kubernetes.io/name in ({','.join(WORKLOADS)})")
    assert op.sql(figures) == before
    op.invoke("health", "--env", "dev")
    op.sql("DROP TABLE noa_core.drill_rows")


def test_stop_keeps_the_claims_and_the_rows_survive_the_next_deploy(
        deployed: Deployed) -> None:
    op, _ = deployed
    marker = f"kept-{uuid.uuid4().hex[:8]}"
    op.sql(f"CREATE TABLE IF NOT EXISTS noa_core.cluster_rows (v text); "
           f"INSERT INTO noa_core.cluster_rows VALUES ('{marker}')")
    claims_before = sorted(item["metadata"]["name"] for item in op.get("pvc")["items"])
    op.invoke("stop", "--env", "dev")
    replicas = {item["metadata"]["name"]: item["spec"]["replicas"] for item in
                op.get("deployments,statefulsets")["items"]}
    assert set(replicas.values()) == {0}
    assert sorted(item["metadata"]["name"] for item in op.get("pvc")["items"]) == claims_before
    timed("deploy after stop (claims kept) to Ready",
          lambda: op.invoke("deploy", "--env", "dev", "--timeout", "600"))
    assert marker in op.sql("SELECT v FROM noa_core.cluster_rows").split()


def _derived_image(op: Operator, service: str, base: str, lines: str, name: str) -> str:
    return op.sandbox.derived_image(service, base, lines, name)


def _config_map(op: Operator) -> dict[str, Any]:
    return next(item for item in op.get("configmaps")["items"]
                if item["metadata"]["name"].startswith("noa-config-"))


def test_rollback_brings_back_the_config_and_the_images(deployed: Deployed) -> None:
    op, pushed = deployed
    base = f"noa/mcp:{pushed['tag']}"
    other = _derived_image(op, "mcp", base, "LABEL noa.test=rollback", "rollback")
    op.invoke("deploy", "--env", "dev", "--service-image", f"mcp={other}", "--timeout", "300")
    assert op.images()["mcp"] == other
    config = _config_map(op)
    op.kubectl("patch", "configmap", config["metadata"]["name"], "--type", "merge", "-p",
               json.dumps({"data": {"LOG_LEVEL": "drifted"}}))
    result = timed("rollback to Ready", lambda: op.invoke("rollback", "--env", "dev", "--timeout", "300"))
    assert op.images()["mcp"] == pushed["pushed"]["mcp"], result.stdout[-2000:]
    assert _config_map(op)["data"]["LOG_LEVEL"] == config["data"]["LOG_LEVEL"]


MISSING_DIGEST = "sha256:" + "0" * 64
# fault -> the Dockerfile lines of the broken image ("" : a digest the registry does not hold), and
# what the deploy names: a certain failure at once (crash loop, pull), or the deadline.
FAULTS = {
    "exits": ('ENTRYPOINT ["false"]\nCMD []', "crash-loops: restarted"),
    "cannot-pull": ("", "ErrImagePull"),
    "never-ready": ('ENTRYPOINT ["sleep", "infinity"]\nCMD []', "not ready before the deadline"),
}


def _broken_image(op: Operator, tag: str, fault: str) -> str:
    lines = FAULTS[fault][0]
    if not lines:
        return f"{op.cluster.cfg.registry}/noa/agenticos@{MISSING_DIGEST}"
    return _derived_image(op, "agenticos", f"noa/agenticos:{tag}", lines, fault)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_broken_release_is_named_and_rolled_back_by_itself(deployed: Deployed, fault: str) -> None:
    """A crash loop or an image that cannot be pulled ends the wait as soon as it is certain
    ("not waiting for the deadline"); a pod that never gets ready takes the deadline. The time each
    took is in the timings table, never asserted."""
    op, pushed = deployed
    before = op.images()
    marker = f"intact-{uuid.uuid4().hex[:8]}"
    op.sql(f"CREATE TABLE IF NOT EXISTS noa_core.cluster_rows (v text); "
           f"INSERT INTO noa_core.cluster_rows VALUES ('{marker}')")
    broken = _broken_image(op, pushed["tag"], fault)
    started = time.monotonic()
    result = timed(f"broken release ({fault}) named and rolled back, --timeout 120", lambda: op.invoke(
        "deploy", "--env", "dev", "--service-image", f"agenticos={broken}", "--timeout", "120", check=False))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "deployment/agenticos" in output, output[-3000:]
    assert "its last events" in output and "rolled back to" in output, output[-3000:]
    assert FAULTS[fault][1] in output, output[-3000:]
    assert ("not waiting for the deadline" in output) == (fault != "never-ready"), output[-3000:]
    assert op.images() == before, f"after {time.monotonic() - started:.0f} s"
    ready = {item["metadata"]["name"]: item["status"].get("readyReplicas", 0)
             for item in op.get("deployments,statefulsets")["items"]}
    assert ready == dict.fromkeys(WORKLOADS, 1)
    assert marker in op.sql("SELECT v FROM noa_core.cluster_rows").split()


def test_a_dry_run_shows_what_would_change_and_applies_nothing(deployed: Deployed) -> None:
    """`deploy --dry-run` prints kubectl diff's view of the new release (here mcp on another image)
    against the cluster, and changes nothing: the same images run, no release is recorded. The near
    miss: the same dry run without that change does not show it."""
    op, _ = deployed
    releases = op.sandbox.home / "state" / "releases" / "dev"
    recorded = sorted(releases.rglob("*"))
    running = op.images()
    other = f"{op.cluster.cfg.registry}/noa/mcp@{MISSING_DIGEST}"
    shown = op.invoke("deploy", "--env", "dev", "--dry-run", "--service-image", f"mcp={other}")
    said = shown.stdout + shown.stderr
    assert "(nothing is applied)" in said, said[-3000:]
    assert re.search(rf"^\+\s+image: {re.escape(other)}$", said, re.MULTILINE), said[-3000:]
    assert op.images() == running
    assert sorted(releases.rglob("*")) == recorded
    again = op.invoke("deploy", "--env", "dev", "--dry-run")
    assert MISSING_DIGEST not in again.stdout + again.stderr


def test_a_pdb_lets_one_pod_be_evicted_not_two(deployed: Deployed) -> None:
    op, _ = deployed
    op.kubectl("scale", "deployment/mcp", "--replicas=2")
    op.kubectl("rollout", "status", "deployment/mcp", "--timeout=120s")
    deadline = time.monotonic() + 30
    while op.get("pdb", "mcp")["status"].get("disruptionsAllowed", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    pods = [item["metadata"]["name"] for item in op.get("pods", "-l", "app.kubernetes.io/name=mcp")["items"]
            if not item["metadata"].get("deletionTimestamp")]
    assert len(pods) == 2
    answers = [_evict(op, pod) for pod in pods]
    assert answers[0].returncode == 0, answers[0].stderr
    assert answers[1].returncode != 0 and "disruption budget" in answers[1].stderr, answers[1].stderr
    op.kubectl("scale", "deployment/mcp", "--replicas=1")


def _evict(op: Operator, pod: str) -> subprocess.CompletedProcess[str]:
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pod, "namespace": NAMESPACE}}
    return op.kubectl("create", "--raw", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction", "-f", "-",
                      stdin=json.dumps(eviction), check=False)
