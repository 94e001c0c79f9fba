"""The Kubernetes target: every kubectl call checked exactly with MockContext (no cluster runs here).

What the tasks apply is the real overlay output: the staging variant is rendered from k8s/ with
`kubectl kustomize` and handed to the mock as the render command's answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke.context import MockContext
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import catalogue, cli, environments, image_push, images, k8s_render, releases
from noa_ops import probes as health
from noa_ops.environments import Environment
from noa_ops.errors import NoaError
from noa_ops.targets import kubernetes

from ..helpers import REPO, mock_context, runs

TAG = "1a2b3c4d5e6f"
KUBECTL = "kubectl --context noa-staging -n noa-server-staging"
RENDER = "kubectl kustomize .noa/render/staging/k8s/variants/staging-external-secrets"
REGISTRY = "registry.noa.example/noa"
APPLY = re.compile(
    rf"^{re.escape(KUBECTL)} apply --server-side --field-manager=noa-ops --force-conflicts "
    r"-f \.noa/releases/staging/(?P<id>[^/]+)/manifests\.yaml$"
)
ROLLOUT = re.compile(rf"^{re.escape(KUBECTL)} rollout status (?P<workload>\S+) --timeout=(?P<seconds>\d+)s$")
EVENTS = f"{KUBECTL} get events --sort-by=.lastTimestamp"
PODS_OF_MCP = f"{KUBECTL} get pods -l app.kubernetes.io/name=mcp -o json"
CURRENT_CONTEXT = "kubectl config current-context"


def digest(service: str) -> str:
    return f"{REGISTRY}/{service}@sha256:{(service.encode().hex() * 64)[:64]}"


@pytest.fixture(scope="module")
def staging_render(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: scripts/bootstrap builds the pinned one")
    out = tmp_path_factory.mktemp("render")
    written = k8s_render.render_variants(REPO / "k8s", out, [k8s_render.variant("staging-external-secrets")])
    return written["staging-external-secrets"].read_text()


@pytest.fixture
def staging() -> Environment:
    return environments.select(mock_context(), "staging")


def push_for_real(names: list[str]) -> None:
    """Record digests exactly as `invoke push` does: image_push.push, answered as the engine answers."""
    env = environments.select(mock_context(), "staging")
    answers: dict[Any, Any] = {}
    for name in names:
        local, remote = images.image_name(env, name, TAG), image_push.remote_name(REGISTRY, name, TAG)
        answers[f"docker image inspect --format '{{{{.Id}}}}' {local}"] = Result("sha256:" + "1" * 64 + "\n")
        answers[f"docker tag {local} {remote}"] = Result("")
        answers[f"docker push {remote}"] = Result(f"{TAG}: digest: {digest(name).split('@')[1]} size: 1\n")
    image_push.push(mock_context(answers), env, names, TAG, registry=REGISTRY)


@pytest.fixture
def pushed(in_tmp: Path) -> None:
    """`invoke push`, then `invoke push --service llama-cuda` (built where the CUDA images exist)."""
    push_for_real([*catalogue.names(), "llama-cuda"])


def test_push_records_what_the_fixture_assumes(in_tmp: Path) -> None:
    push_for_real(catalogue.names())
    assert images.load_record(TAG)["pushed"][REGISTRY] == {name: digest(name) for name in catalogue.names()}


def test_a_variant_needing_an_unbuilt_image_is_refused_naming_it_and_its_commands(
    staging_render: str, in_tmp: Path
) -> None:
    push_for_real(catalogue.names())  # `invoke push` alone: every service, not llama-cuda
    c = mock_context(base_answers(staging_render))
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="staging")
    message = str(raised.value.message)
    assert message.startswith("deploy: no pushed digest for llama-cuda: ")
    assert "`invoke build --service llama-cuda`, then `invoke push --service llama-cuda`" in message
    assert "(nothing was applied)" in message
    assert not any(APPLY.match(command) or ROLLOUT.match(command) for command in commands(c))


def commands(c: MockContext) -> list[str]:
    return [args[0] for args, _ in runs(c).call_args_list]


def base_answers(rendered: str) -> dict[Any, Any]:
    return {
        "kubectl config current-context": Result("noa-staging\n"),
        "git rev-parse --short=12 HEAD": Result(f"{TAG}\n"),
        "git status --porcelain": Result(""),
        RENDER: Result(rendered),
        APPLY: Result("applied\n"),
        ROLLOUT: Result("successfully rolled out\n"),
    }


def rollouts(c: MockContext) -> list[str]:
    return [m["workload"] for command in commands(c) if (m := ROLLOUT.match(command))]


def expected_workloads(rendered: str) -> list[str]:
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    return [
        f"{kind.lower()}/{doc['metadata']['name']}"
        for kind in ("StatefulSet", "Deployment")
        for doc in docs
        if doc["kind"] == kind
    ]


def test_deploy_renders_pins_applies_and_waits_per_workload(staging_render: str, pushed: None) -> None:
    c = mock_context(base_answers(staging_render))
    cli.deploy(c, env="staging")
    ran = commands(c)
    assert ran[:4] == [
        "kubectl config current-context",
        "git rev-parse --short=12 HEAD",
        "git status --porcelain",
        RENDER,
    ]
    applied = APPLY.match(ran[4])
    assert applied is not None
    # Data first, then the apps; every wait gets what is left of the one deadline.
    assert rollouts(c) == expected_workloads(staging_render)
    assert rollouts(c)[:2] == ["statefulset/postgres", "statefulset/redis"]
    assert all(int(m["seconds"]) <= 600 for command in ran if (m := ROLLOUT.match(command)))
    # Every cluster call names the configured context and namespace.
    assert all(command.startswith(KUBECTL) for command in ran[4:])
    [release] = releases.all_releases("staging")
    assert (
        release.id == applied["id"] and release.outcome == releases.HEALTHY and release.target == "kubernetes"
    )
    stored = releases.rendered_path(release).read_text()
    assert "noa/mcp:dev" not in stored and digest("mcp") in stored
    assert release.images["postgres"] == digest("postgres") and release.sources["mcp"] == "noa/mcp:dev"
    # The stored manifests are the real overlay output with only the images changed.
    assert stored.count("kind: ") == staging_render.count("kind: ")


def test_deploy_without_pushed_digests_is_refused(staging_render: str, in_tmp: Path) -> None:
    c = mock_context(base_answers(staging_render))
    with pytest.raises(Exit, match=r"no pushed digest for .*mcp.*: run `invoke push`"):
        cli.deploy(c, env="staging")
    assert not any(APPLY.match(command) for command in commands(c))


def test_dry_run_is_kubectl_diff_and_applies_nothing(staging_render: str, pushed: None) -> None:
    diff = (
        f"{KUBECTL} diff --server-side --field-manager=noa-ops --force-conflicts "
        "-f .noa/render/staging/dry-run.yaml"
    )
    c = mock_context(
        base_answers(staging_render) | {diff: Result("-  image: old\n+  image: new\n", exited=1)}
    )
    cli.deploy(c, env="staging", dry_run=True)
    assert commands(c)[-1] == diff
    assert not any(APPLY.match(command) for command in commands(c))
    assert releases.all_releases("staging") == []

    failing = mock_context(base_answers(staging_render) | {diff: Result(exited=2)})
    with pytest.raises(Exit, match="kubectl diff failed"):
        cli.deploy(failing, env="staging", dry_run=True)


def test_a_failed_rollout_shows_events_and_logs_then_rolls_back(staging_render: str, pushed: None) -> None:
    cli.deploy(mock_context(base_answers(staging_render)), env="staging")
    [good] = releases.all_releases("staging")
    workloads = expected_workloads(staging_render)
    failing = workloads.index("deployment/mcp")
    # The new release: the waits up to mcp pass, mcp's poll fails and its pod crash-loops; then the
    # rollback's all pass.
    waits = [Result("")] * failing + [Result(exited=1)] + [Result("")] * len(workloads)
    logs = f"{KUBECTL} logs deployment/mcp --all-containers --timestamps --tail=40"
    c = mock_context(
        base_answers(staging_render)
        | {
            ROLLOUT: waits,
            PODS_OF_MCP: Result(json.dumps({"items": [pod("mcp-7d9-abc", restarts=2, exit_code=3)]})),
            EVENTS: Result(
                "5s Warning BackOff pod/mcp-7d9-abc Back-off restarting failed container\n"
                "9s Normal Pulled pod/ui-1 pulled\n"
            ),
            logs: Result(""),
        }
    )
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="staging", timeout=300)
    message = raised.value.message or ""
    assert ("failed its health gate (deployment/mcp: mcp-7d9-abc: mcp crash-loops: restarted 2 times, "
            "last exit code 3)") in message and f"rolled back to {good.id}, which is ready" in message
    ran = commands(c)
    applies = [m["id"] for command in ran if (m := APPLY.match(command))]
    assert len(applies) == 2 and applies[1] == good.id
    assert (
        ran.index(EVENTS)
        < ran.index(logs)
        < ran.index(
            f"{KUBECTL} apply --server-side --field-manager=noa-ops "
            f"--force-conflicts -f .noa/releases/staging/{good.id}/"
            f"manifests.yaml"
        )
    )
    assert [(e.action, e.healthy) for e in releases.history("staging")] == [
        ("deploy", True),
        ("deploy", False),
        ("auto-rollback", True),
    ]


def test_rollback_reapplies_stored_manifests(staging_render: str, pushed: None) -> None:
    cli.deploy(mock_context(base_answers(staging_render)), env="staging")
    cli.deploy(mock_context(base_answers(staging_render)), env="staging")
    first, second = releases.all_releases("staging")
    c = mock_context(base_answers(staging_render))
    cli.rollback(c, env="staging")
    ran = commands(c)
    assert ran[0] == "kubectl config current-context"
    assert [m["id"] for command in ran if (m := APPLY.match(command))] == [first.id]
    assert rollouts(c) == expected_workloads(staging_render)
    assert RENDER not in ran  # the stored release, not a new render
    c = mock_context(base_answers(staging_render))
    cli.rollback(c, env="staging", to=second.id)
    assert [m["id"] for command in commands(c) if (m := APPLY.match(command))] == [second.id]


def test_rollback_says_the_external_secret_keeps_the_store_s_values(
    staging_render: str, pushed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.deploy(mock_context(base_answers(staging_render)), env="staging")
    cli.deploy(mock_context(base_answers(staging_render)), env="staging")
    capsys.readouterr()
    cli.rollback(mock_context(base_answers(staging_render)), env="staging")
    said = " ".join(capsys.readouterr().err.split())
    assert "its images and configuration, but not the noa-secrets Secret's values: the ExternalSecret " \
           "keeps syncing the store's current ones (a rotated credential stays rotated" in said


@pytest.mark.parametrize(("variant", "expected"), [
    ("staging-external-secrets", "but not the noa-secrets Secret's values"),
    ("prod-external-secrets", "but not the noa-secrets Secret's values"),
    ("staging-sealed-secrets", "and the SealedSecret as that release sealed it"),
    ("prod-sealed-secrets", "and the SealedSecret as that release sealed it"),
    ("staging-local", "but not the noa-secrets Secret's values"),
    ("dev", "and the noa-secrets Secret as the release recorded it"),
])
def test_each_variant_s_rollback_names_what_it_restores_of_the_secrets(
    staging: Environment, variant: str, expected: str
) -> None:
    env = environments.Environment(**{**staging.__dict__, "kube_variant": variant})
    assert kubernetes.restored_secrets(env).startswith(expected)


def test_kubernetes_service_image_must_be_a_digest(staging_render: str, pushed: None) -> None:
    c = mock_context(base_answers(staging_render))
    with pytest.raises(Exit, match="expected SERVICE=REGISTRY/NAME@sha256:DIGEST"):
        cli.deploy(c, env="staging", service_image=["mcp=registry.noa.example/noa/mcp:latest"])
    runs(c).assert_not_called()
    other = f"{REGISTRY}/mcp@sha256:{'f' * 64}"
    c = mock_context(base_answers(staging_render))
    cli.deploy(c, env="staging", service_image=[f"mcp={other}"])
    [release] = releases.all_releases("staging")
    assert release.images["mcp"] == other and other in releases.rendered_path(release).read_text()


STATEFULSETS = {
    "items": [
        {
            "metadata": {"name": "postgres"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
        },
        {"metadata": {"name": "redis"}, "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}},
    ]
}
CLAIMS = {
    "items": [
        {"metadata": {"name": name}}
        for name in ("data-postgres-0", "data-redis-0", "data-redis-1", "uploads", "data-postgresql-0",
                     "postgres-backups")
    ]
}
SCALE = f"{KUBECTL} scale deployment,statefulset --all --replicas=0"


def test_statefulset_claims_are_exactly_their_templates() -> None:
    """What `stop --purge` deletes: never the backup CronJob's postgres-backups, nor a claim whose
    name merely starts like a StatefulSet's (data-postgresql-0)."""
    assert kubernetes.statefulset_claims(STATEFULSETS, CLAIMS) == [
        "data-postgres-0",
        "data-redis-0",
        "data-redis-1",
    ]


def test_stop_scales_to_zero_and_keeps_claims(in_tmp: Path) -> None:
    c = mock_context({"kubectl config current-context": Result("noa-staging\n"), SCALE: Result("")})
    cli.stop(c, env="staging")
    assert commands(c) == ["kubectl config current-context", SCALE]


def test_purge_says_what_it_deletes_and_needs_yes(in_tmp: Path) -> None:
    def answers() -> dict[str, Result]:  # MockContext consumes its dict: a fresh one per context
        return {
            "kubectl config current-context": Result("noa-staging\n"),
            f"{KUBECTL} get statefulsets -o json": Result(json.dumps(STATEFULSETS)),
            f"{KUBECTL} get pvc -o json": Result(json.dumps(CLAIMS)),
            SCALE: Result(""),
            f"{KUBECTL} delete pvc data-postgres-0 data-redis-0 data-redis-1": Result(""),
        }

    c = mock_context(answers())
    with pytest.raises(Exit, match=r"--purge --yes to confirm \(nothing was changed\)"):
        cli.stop(c, env="staging", purge=True)
    assert SCALE not in commands(c)
    c = mock_context(answers())
    cli.stop(c, env="staging", purge=True, yes=True)
    assert commands(c)[-2:] == [SCALE, f"{KUBECTL} delete pvc data-postgres-0 data-redis-0 data-redis-1"]
    assert not any("delete namespace" in command or "delete ns" in command for command in commands(c))


def workload(kind: str, name: str, wanted: int, ready: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": name}},
        "spec": {"replicas": wanted},
        "status": {"readyReplicas": ready, "updatedReplicas": ready},
    }


def test_workload_readiness() -> None:
    listing = {
        "items": [
            workload("StatefulSet", "postgres", 1, 1),
            workload("Deployment", "mcp", 2, 1),
            workload("Deployment", "ui", 0, 0),
        ]
    }
    checks = kubernetes.workload_checks(listing)
    assert [(check.service, check.ok, check.status) for check in checks] == [
        ("postgres", True, "1/1 ready"),
        ("mcp", False, "1/2 ready"),
        ("ui", False, "scaled to zero"),
    ]


def test_health_reads_workloads_and_probes_endpoints_through_port_forwards(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = catalogue.stack_services()
    listing = {
        "items": [workload("StatefulSet" if not s.is_http else "Deployment", s.name, 1, 1) for s in stack]
    }
    forwarded: list[str] = []

    @contextlib.contextmanager
    def forward(env: Environment, service: catalogue.Service) -> Iterator[int]:
        forwarded.append(" ".join(kubernetes.port_forward_command(env, service)))
        yield 40000 + service.port % 1000

    seen: list[str] = []

    def fetch(url: str, timeout: float) -> tuple[int, bytes]:
        seen.append(url)
        return 200, b"{}"

    monkeypatch.setattr(kubernetes, "port_forward", forward)
    monkeypatch.setattr(health, "fetch", fetch)
    c = mock_context({CURRENT_CONTEXT: Result("noa-staging\n"),
                      f"{KUBECTL} get deployments,statefulsets -o json": Result(json.dumps(listing))})
    cli.health(c, env="staging", json=True)
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert commands(c) == [CURRENT_CONTEXT, f"{KUBECTL} get deployments,statefulsets -o json"]
    assert forwarded[0] == f"{KUBECTL} port-forward service/mcp 0:8001"
    assert len(forwarded) == len([s for s in stack if s.is_http])
    assert "http://127.0.0.1:40001/health/ready" in seen


def test_health_names_an_unready_workload(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubernetes, "endpoint_checks", lambda env, *args: [])
    listing = {"items": [workload("Deployment", "mcp", 2, 0)]}
    c = mock_context({CURRENT_CONTEXT: Result("noa-staging\n"),
                      f"{KUBECTL} get deployments,statefulsets -o json": Result(json.dumps(listing))})
    with pytest.raises(Exit, match="health: staging is unhealthy: mcp"):
        cli.health(c, env="staging")


def test_logs_by_selector_with_a_stream_per_container(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    selector = "app.kubernetes.io/part-of=noa-server,app.kubernetes.io/name in (mcp,ui)"
    pods: dict[str, Any] = {"items": [{"spec": {"containers": [{}]}} for _ in range(7)]}
    logs = (
        f"{KUBECTL} logs '--selector={selector}' --all-containers --prefix --timestamps "
        "--max-log-requests=7 --tail=50 --since=10m"
    )
    output = "\n".join(
        [
            '[pod/ui-2/ui] 2026-01-01T00:00:03Z {"level":"info","msg":"c"}',
            '[pod/mcp-1/mcp] 2026-01-01T00:00:01.5Z {"level":"error","msg":"a"}',
            '[pod/mcp-2/mcp] 2026-01-01T00:00:02Z {"level":"debug","msg":"b"}',
        ]
    )
    c = mock_context(
        {
            CURRENT_CONTEXT: Result("noa-staging\n"),
            f"{KUBECTL} get pods '--selector={selector}' -o json": Result(json.dumps(pods)),
            logs: Result(output),
        }
    )
    cli.logs(c, env="staging", service=["mcp", "ui"], since="10m", tail=50, level="info")
    assert commands(c)[-1] == logs
    shown = capsys.readouterr().out.splitlines()
    assert shown == ['mcp | {"level":"error","msg":"a"}', 'ui  | {"level":"info","msg":"c"}']


@pytest.mark.parametrize(("asked", "shown"), [
    (["postgres-exporter"], ["postgres-exporter | level=info msg=scraped"]),
    (["postgres"], ["postgres | LOG:  checkpoint complete"]),
    (["postgres", "postgres-exporter"], ["postgres-exporter | level=info msg=scraped",
                                         "postgres          | LOG:  checkpoint complete"]),
])
def test_an_exporter_s_logs_are_its_sidecar_s_in_its_store_s_pods(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], asked: list[str], shown: list[str]
) -> None:
    """The alert runbook's `invoke logs --service <job>`: on Kubernetes the exporter is a container
    of its store's pods, so those pods are read and only the containers asked for are shown."""
    selector = "app.kubernetes.io/part-of=noa-server,app.kubernetes.io/name in (postgres)"
    pods: dict[str, Any] = {"items": [{"spec": {"containers": [{}, {}]}}]}
    logs = (f"{KUBECTL} logs '--selector={selector}' --all-containers --prefix --timestamps "
            "--max-log-requests=2 --tail=20")
    output = "\n".join([
        "[pod/postgres-0/postgres-exporter] 2026-01-01T00:00:01Z level=info msg=scraped",
        "[pod/postgres-0/postgres] 2026-01-01T00:00:02Z LOG:  checkpoint complete",
    ])
    c = mock_context({
        CURRENT_CONTEXT: Result("noa-staging\n"),
        f"{KUBECTL} get pods '--selector={selector}' -o json": Result(json.dumps(pods)),
        logs: Result(output),
    })
    cli.logs(c, env="staging", service=asked, tail=20)
    assert commands(c)[-1] == logs
    assert capsys.readouterr().out.splitlines() == shown


def test_a_missing_kube_context_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    env = environments.select(mock_context(), "staging")
    unset = environments.Environment(**{**env.__dict__, "kube_context": ""})
    with pytest.raises(
        NoaError, match=r"no kube_context for staging: set noa\.environments\.staging\.kube_context"
    ):
        kubernetes.require_context(mock_context(), unset, "deploy")


def test_an_unshipped_component_combination_is_refused(staging: Environment) -> None:
    odd = environments.Environment(**{**staging.__dict__, "kube_variant": "staging-gpu"})
    with pytest.raises(NoaError, match="kube_variant staging-gpu is not a folder of k8s/variants"):
        kubernetes.variant_for(odd)


@pytest.mark.parametrize("name", ["staging", "staging-external-secrets-old"])
def test_an_overlay_alone_or_a_longer_name_is_no_variant(staging: Environment, name: str) -> None:
    """staging alone lacks its Secret; a name that merely contains a variant's is not that variant."""
    odd = environments.Environment(**{**staging.__dict__, "kube_variant": name})
    expected = f"kube_variant {name} is not a folder of k8s/variants; shipped variants: dev, prod-"
    with pytest.raises(NoaError, match=expected):
        kubernetes.variant_for(odd)


def test_each_environment_deploys_its_committed_folder() -> None:
    chosen = {name: kubernetes.variant_for(environments.select(mock_context(), name))
              for name in ("dev", "staging", "prod")}
    assert {name: item.directory.as_posix() for name, item in chosen.items()} == {
        "dev": "variants/dev",
        "staging": "variants/staging-external-secrets",
        "prod": "variants/prod-external-secrets",
    }


def pod(name: str, *, restarts: int = 0, exit_code: int | None = None, waiting: str = "",
        container: str = "mcp") -> dict[str, Any]:
    """One pod as `kubectl get pods -o json` shows it, reduced to what hopeless_pods reads."""
    status: dict[str, Any] = {"name": container, "restartCount": restarts, "state": {}, "lastState": {}}
    if waiting:
        status["state"] = {"waiting": {"reason": waiting, "message": "failed to pull noa/mcp@sha256:0"}}
    if exit_code is not None:
        status["lastState"] = {"terminated": {"exitCode": exit_code, "reason": "Error"}}
    return {"metadata": {"name": name}, "status": {"containerStatuses": [status]}}


@pytest.mark.parametrize(("shown", "hopeless"), [
    (pod("p", waiting="ErrImagePull"), "p: mcp ErrImagePull: failed to pull noa/mcp@sha256:0"),
    (pod("p", waiting="CreateContainerConfigError"), "p: mcp CreateContainerConfigError: failed to pull"),
    (pod("p", restarts=2, exit_code=1), "p: mcp crash-loops: restarted 2 times, last exit code 1"),
    # The near misses: still starting, one crash only, restarts that ended well, a back-off alone.
    (pod("p", waiting="ContainerCreating"), ""),
    (pod("p", restarts=1, exit_code=1, waiting="CrashLoopBackOff"), ""),
    (pod("p", restarts=2, exit_code=0), ""),
    (pod("p"), ""),
])
def test_a_pod_that_cannot_become_ready_by_itself_is_named(shown: dict[str, Any], hopeless: str) -> None:
    found = kubernetes.hopeless_pods([shown])
    assert (found[0] if found else "").startswith(hopeless) and (bool(found) == bool(hopeless))


def test_pods_of_an_earlier_release_or_being_deleted_do_not_count() -> None:
    """While a rollback waits, the broken release's crash-looping pods are still there, going."""
    began = datetime(2026, 12, 3, 6, 0, 0, tzinfo=UTC)
    crashing = pod("p", restarts=3, exit_code=1)
    earlier = {**crashing, "metadata": {"name": "p", "creationTimestamp": "2026-12-03T05:59:59Z"}}
    same_second = {**crashing, "metadata": {"name": "p", "creationTimestamp": "2026-12-03T06:00:00Z"}}
    going = {**same_second,
             "metadata": {**same_second["metadata"], "deletionTimestamp": "2026-12-03T06:00:09Z"}}
    assert kubernetes.hopeless_pods([earlier], began) == [] and kubernetes.hopeless_pods([going], began) == []
    assert kubernetes.hopeless_pods([same_second], began) != []  # the near miss: made as it began
    assert kubernetes.hopeless_pods([earlier]) != []


def test_a_wait_with_no_hopeless_pod_lasts_until_the_deadline(staging: Environment) -> None:
    """Polls of 5 s while pods merely start, then 'not ready before the deadline' (a fake clock)."""
    now = [0.0]

    def clock() -> float:
        now[0] += 4.0
        return now[0]

    c = mock_context({ROLLOUT: Result(exited=1), PODS_OF_MCP: Result(json.dumps({"items": [
        pod("mcp-1", waiting="ContainerCreating")]}))})
    why = kubernetes.wait_for_workload(c, staging, "deployment/mcp", 20.0, clock)
    assert why == "not ready before the deadline"
    timeouts = [m["seconds"] for command in commands(c) if (m := ROLLOUT.match(command))]
    assert timeouts[0] == "5" and len(timeouts) >= 2 and PODS_OF_MCP in commands(c)


@pytest.mark.parametrize("namespace", ["noa-ct-a1b2c3-d4e5f6-staging", ""])
def test_the_configured_namespace_takes_effect(namespace: str, staging: Environment, in_tmp: Path) -> None:
    """Every object of the variant lands in invoke.yaml's namespace, the Namespace itself renamed;
    the default (noa-server-staging) renders the variant as it is (kubectl kustomize, for real)."""
    env = dataclasses.replace(staging, namespace=namespace)
    variant = k8s_render.variant("staging-local")
    staged = kubernetes.stage(env, variant, REPO / "k8s")
    documents = [doc for doc in yaml.safe_load_all(k8s_render.render(staged)) if doc]
    wanted = namespace or "noa-server-staging"
    assert [doc["metadata"]["name"] for doc in documents if doc["kind"] == "Namespace"] == [wanted]
    placed = {doc["metadata"].get("namespace") for doc in documents
              if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")}
    assert placed == {wanted}
    assert (staged.name == "in-namespace") == bool(namespace)


def deployment(name: str, replicas: int, paused: str | None = None) -> dict[str, Any]:
    annotations = {} if paused is None else {kubernetes.PAUSED_REPLICAS: paused}
    return {"metadata": {"name": name, "annotations": annotations}, "spec": {"replicas": replicas}}


def test_db_restore_pauses_the_writers_noting_their_replicas_and_brings_them_back(
        staging: Environment) -> None:
    get = f"{KUBECTL} get deployment/mcp deployment/ui -o json"
    chosen = "app.kubernetes.io/part-of=noa-server,app.kubernetes.io/name in (mcp,ui)"
    pods = f"{KUBECTL} get pods '--selector={chosen}' -o json"
    c = mock_context({
        get: [Result(json.dumps({"items": [deployment("mcp", 2), deployment("ui", 3)]})),
              Result(json.dumps({"items": [deployment("mcp", 0, "2"), deployment("ui", 0, "3")]}))],
        pods: [Result(json.dumps({"items": [{"metadata": {"name": "mcp-1"}}]})), Result('{"items": []}')],
        re.compile(rf"^{re.escape(KUBECTL)} (annotate|scale|rollout status) .*"): Result(""),
    })
    kubernetes.pause_writers(c, staging, ["mcp", "ui"])
    kubernetes.resume_writers(c, staging, ["mcp", "ui"])
    acted = [command.removeprefix(KUBECTL + " ") for command in commands(c) if " get " not in command]
    assert acted == [
        f"annotate --overwrite deployment/mcp {kubernetes.PAUSED_REPLICAS}=2",
        f"annotate --overwrite deployment/ui {kubernetes.PAUSED_REPLICAS}=3",
        "scale deployment/mcp deployment/ui --replicas=0",
        "scale deployment/mcp --replicas=2", f"annotate deployment/mcp {kubernetes.PAUSED_REPLICAS}-",
        "scale deployment/ui --replicas=3", f"annotate deployment/ui {kubernetes.PAUSED_REPLICAS}-",
        "rollout status deployment/mcp --timeout=180s", "rollout status deployment/ui --timeout=180s",
    ]
    assert commands(c).count(pods) == 2, "it waited until the pods were gone"


def test_a_single_paused_deployment_is_read_as_the_object_kubectl_returns(staging: Environment) -> None:
    c = mock_context({
        f"{KUBECTL} get deployment/mcp -o json": Result(json.dumps(deployment("mcp", 0, "4"))),
        re.compile(rf"^{re.escape(KUBECTL)} (annotate|scale|rollout status) .*"): Result(""),
    })
    kubernetes.resume_writers(c, staging, ["mcp"])
    assert f"{KUBECTL} scale deployment/mcp --replicas=4" in commands(c)


def _pod(image: str) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "main", "image": image}]}}


def test_pin_manifests_pins_every_pod_template_a_cronjob_s_included() -> None:
    """A CronJob's pods live under spec.jobTemplate.spec.template: they are pinned too (an unpinned
    backup would pull whatever the tag names on the night); an image of another prefix (noa-extra/
    starts like noa/) is left as it is."""
    documents = [
        {"kind": "Deployment", "metadata": {"name": "mcp"}, "spec": {"template": _pod("noa/mcp:dev")}},
        {"kind": "CronJob", "metadata": {"name": "postgres-backup"},
         "spec": {"jobTemplate": {"spec": {"template": _pod("noa/postgres:dev")}}}},
        {"kind": "Job", "metadata": {"name": "other"}, "spec": {"template": _pod("noa-extra/postgres:dev")}},
    ]
    digests = {"mcp": "r/noa/mcp@sha256:1", "postgres": "r/noa/postgres@sha256:2"}
    pinned, sources = kubernetes.pin_manifests(yaml.safe_dump_all(documents), "noa", digests)
    images = [spec["containers"][0]["image"] for doc in yaml.safe_load_all(pinned)
              for spec in kubernetes.pod_specs(doc)]
    assert images == ["r/noa/mcp@sha256:1", "r/noa/postgres@sha256:2", "noa-extra/postgres:dev"]
    assert sources == {"mcp": "noa/mcp:dev", "postgres": "noa/postgres:dev"}
    with pytest.raises(NoaError, match="no pushed digest for postgres"):
        kubernetes.pin_manifests(yaml.safe_dump_all(documents), "noa", {"mcp": digests["mcp"]})


def test_an_unpushed_exporter_is_named_with_the_commands_that_make_it() -> None:
    """The monitoring variant runs the exporter sidecars: a bare `invoke push` leaves them out."""
    documents = [{"kind": "StatefulSet", "metadata": {"name": "redis"}, "spec": {"template": {"spec": {
        "containers": [{"name": "redis", "image": "noa/redis:dev"},
                       {"name": "redis-exporter", "image": "noa/redis-exporter:dev"}]}}}}]
    with pytest.raises(NoaError) as raised:
        kubernetes.pin_manifests(yaml.safe_dump_all(documents), "noa", {"redis": "r/noa/redis@sha256:1"})
    assert raised.value.message.startswith(
        "deploy: no pushed digest for redis-exporter: noa/redis-exporter, the monitoring component's "
        "sidecar of redis, is built only when named: `invoke build --service redis-exporter`, then "
        "`invoke push --service redis-exporter`")
    pinned, sources = kubernetes.pin_manifests(
        yaml.safe_dump_all(documents), "noa",
        {"redis": "r/noa/redis@sha256:1", "redis-exporter": "r/noa/redis-exporter@sha256:2"})
    assert sources == {"redis": "noa/redis:dev", "redis-exporter": "noa/redis-exporter:dev"}
    assert "r/noa/redis-exporter@sha256:2" in pinned


def test_a_compose_profile_on_kubernetes_is_one_line() -> None:
    with pytest.raises(NoaError, match=r"compose profiles \(monitoring\) are for compose only"):
        kubernetes.parse_request([], False, ("monitoring",))
    assert kubernetes.parse_request([], False, ()).service_images == {}
