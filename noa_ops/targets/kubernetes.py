"""The Kubernetes target: the Target protocol (noa_ops/targets/__init__.py) through kubectl.

Every kubectl call that touches a cluster names `--context <configured>` and `-n <namespace>`
explicitly, and the mutating verbs (deploy, rollback, stop) first refuse unless the current context
is the one invoke.yaml configures for the environment. A deploy renders the environment's variant
(the committed folder k8s/variants/<kube_variant>, see noa_ops/k8s_render.py) with `kubectl kustomize`,
pins every Noa image to the digest `invoke push` recorded, stores the result as a release and
applies exactly that file (`kubectl apply --server-side`), then waits with `kubectl rollout status`
per workload under one deadline, polled: a pod that cannot become ready by itself (an image that
cannot be pulled, a container that cannot be created, one that crash-loops) ends the wait at once.
Rollback applies a stored release's manifests again: ConfigMaps, Secrets and every other object
included, which `kubectl rollout undo` would leave behind.

Rendering, pinning, readiness and claim selection are pure; the rest acts through Context.run,
so the unit tests check every command with MockContext. The cycle itself (record, gate, roll back)
is noa_ops/release_cycle.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from invoke.context import Context

from .. import catalogue, envfile, images, k8s_render, paths, probes, releases
from .. import logs as service_logs
from ..environments import Environment, shipped_variants
from ..errors import NoaError
from ..probes import Check
from ..report import out, step
from ..shell import run, run_checked
from . import DeployRequest, LineParser, Outcome, Rendered

# The Target protocol (noa_ops/targets/__init__.py): this module is the Kubernetes target.
name = TARGET = "kubernetes"
good_word = "ready"
bad_word = "not ready"
data_kind = "PVCs"
FIELD_MANAGER = "noa-ops"
PART_OF = "app.kubernetes.io/part-of=noa-server"
NAME_LABEL = "app.kubernetes.io/name"
WORKLOAD_KINDS = ("StatefulSet", "Deployment")  # data first: the apps wait for it
LOG_TAIL = 40
# The wait polls `rollout status` this often and, between polls, looks for pods that cannot succeed.
POLL_SECONDS = 5
# A container waiting for one of these will not start by itself: the release cannot become ready.
HOPELESS_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                              "CreateContainerConfigError", "CreateContainerError"})
# The kubelet's back-off doubles from 10 s, so a third restart comes some 70 s after the first crash:
# two restarts of a container that keeps exiting non-zero are certain enough.
CRASH_LOOP_RESTARTS = 2
# db-restore: how long the paused writers may take to go and to be ready again, and where each
# Deployment keeps its replica count meanwhile.
RESUME_TIMEOUT = 180
PAUSED_REPLICAS = "noa-server/replicas-before-restore"
Clock = Callable[[], float]
# (env, service) -> a context manager yielding the local port forwarded to the service.
Forwarder = Callable[[Environment, catalogue.Service], AbstractContextManager[int]]


def kubectl(env: Environment, *words: str) -> str:
    """A kubectl command bound to the environment's context and namespace."""
    return shlex.join(["kubectl", "--context", env.kube_context, "-n", env.kube_namespace, *words])


def require_context(c: Context, env: Environment, verb: str) -> None:
    """Refuse unless kubectl's current context is the one configured for the environment."""
    if not env.kube_context:
        raise NoaError(f"{verb}: no kube_context for {env.name}: set "
                       f"noa.environments.{env.name}.kube_context in invoke.yaml to the kubectl context of "
                       f"that cluster")
    answer = run(c, "kubectl config current-context", hide=True)
    current = answer.stdout.strip() if answer.ok else ""
    if not current:
        raise NoaError(f"{verb}: kubectl has no current context; "
                       f"`kubectl config use-context {env.kube_context}` selects the one configured for "
                       f"{env.name}")
    if current != env.kube_context:
        raise NoaError(f"{verb}: the current kube context is {current}, but {env.name} may only use "
                       f"{env.kube_context}: run `kubectl config use-context {env.kube_context}`, then retry")


def variant_for(env: Environment) -> k8s_render.Variant:
    """The committed variant the environment deploys: k8s/variants/<kube_variant> (default: its name)."""
    name = env.kube_variant or env.name
    shipped = shipped_variants()
    if name not in shipped:
        raise NoaError(f"{env.name}: kube_variant {name} is not a folder of k8s/variants; shipped variants: "
                       f"{', '.join(shipped)}")
    return k8s_render.variant(name, paths.K8S)


def stage(env: Environment, variant: k8s_render.Variant, source: Path = paths.K8S) -> Path:
    """A private copy of k8s/ to render from; the dev overlay gets its Secret and the settings the
    env file sets (merged into noa-config) from the env file."""
    root = paths.state("render", env.name)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(mode=0o700, parents=True)
    staged = k8s_render.stage(source, root)
    if variant.overlay == "dev":
        if not env.env_file.is_file():
            raise NoaError(f"deploy: {env.env_file} is missing: `invoke env-init --env {env.name}` writes it")
        values = envfile.read_values(env.env_file)
        missing = [key for key in envfile.GENERATED_SECRETS if not values.get(key)]
        if missing:
            raise NoaError(f"deploy: {env.env_file} lacks {', '.join(missing)}: "
                       f"`invoke env-init --env {env.name} --force` writes a complete one")
        lines = [f"{key}={value}" for key, value in k8s_render.secret_values(values).items()]
        (staged / k8s_render.DEV_SECRETS_FILE).write_text("\n".join(lines) + "\n")
        settings = [f"{key}={value}" for key, value in k8s_render.setting_values(values).items()]
        (staged / k8s_render.DEV_SETTINGS_FILE).write_text("".join(f"{line}\n" for line in settings))
    return in_namespace(staged, variant, env.kube_namespace)


def in_namespace(staged: Path, variant: k8s_render.Variant, namespace: str) -> Path:
    """The variant's folder; or, when invoke.yaml names another namespace for the environment, a
    kustomization around it that moves every object there (kustomize's `namespace:` renames the
    Namespace object too)."""
    if namespace == variant.namespace:
        return k8s_render.variant_dir(staged, variant)
    wrapper = staged / "in-namespace"
    wrapper.mkdir()
    (wrapper / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": namespace,
        "resources": [f"../{variant.directory.as_posix()}"]}))
    return wrapper


def render(c: Context, directory: Path) -> str:
    result = run(c, f"kubectl kustomize {shlex.quote(paths.shown(directory))}", hide=True)
    if result.failed:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
        raise NoaError(f"deploy: kubectl kustomize {paths.shown(directory)} failed: {reason}")
    return result.stdout


def pod_specs(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod spec a workload creates (a CronJob's through its job template), as a list: none for
    other kinds."""
    spec = document.get("spec") or {}
    if document.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif document.get("kind") not in (*WORKLOAD_KINDS, "DaemonSet", "Job"):
        return []
    pod = ((spec.get("template") or {}).get("spec")) or {}
    return [pod] if pod else []


def image_service(image: str, prefix: str) -> str | None:
    """`noa/mcp:dev` -> mcp when the prefix is noa; None for images that are not ours."""
    if not image.startswith(f"{prefix}/"):
        return None
    return re.split(r"[:@]", image[len(prefix) + 1:], maxsplit=1)[0]


def pin_manifests(rendered: str, prefix: str, digests: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Replace every `<prefix>/<service>:<tag>` container image by its pinned digest reference.

    Returns the manifests and service -> the image they held before. A Noa image without a
    digest is one line naming it.
    """
    documents = [doc for doc in yaml.safe_load_all(rendered) if doc]
    sources: dict[str, str] = {}
    unpinned: list[str] = []
    for document in documents:
        for spec in pod_specs(document):
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                service = image_service(str(container.get("image", "")), prefix)
                if service is None:
                    continue
                if service not in digests:
                    unpinned.append(service)
                    continue
                sources[service] = str(container["image"])
                container["image"] = digests[service]
    if unpinned:
        advice = "; ".join(how_to_make(name, prefix) for name in sorted(set(unpinned)))
        raise NoaError(f"deploy: no pushed digest for {', '.join(sorted(set(unpinned)))}: {advice}; "
                       f"or name one with --service-image NAME=REGISTRY/NAME@sha256:... "
                       f"(nothing was applied)")
    return yaml.safe_dump_all(documents, sort_keys=False, width=1000), sources


def how_to_make(name: str, prefix: str) -> str:
    """The commands that give an image the manifests run a pushed digest for this revision."""
    extra = catalogue.extra_image(name)
    if extra is not None:
        return (f"{prefix}/{name} is built only when named, where {extra.needs} can be had: "
                f"`invoke build --service {name}`, then `invoke push --service {name}`")
    exporter = catalogue.exporter_named(name)
    if exporter is not None:
        return (f"{prefix}/{name}, the monitoring component's sidecar of {exporter.reads}, is built only "
                f"when named: `invoke build --service {name}`, then `invoke push --service {name}`")
    if name in catalogue.names():
        return f"{prefix}/{name}: run `invoke push` for this revision (`invoke build` first)"
    return f"{prefix}/{name}: no `invoke build` makes it (known images: {', '.join(catalogue.image_names())})"


def workloads(manifests: str) -> list[tuple[str, str]]:
    """(kind, name) of the StatefulSets, then the Deployments, in file order within each kind."""
    documents = [doc for doc in yaml.safe_load_all(manifests) if doc]
    return [(kind, str(doc["metadata"]["name"])) for kind in WORKLOAD_KINDS
            for doc in documents if doc.get("kind") == kind]


def parse_service_images(values: Iterable[str]) -> dict[str, str]:
    """--service-image for Kubernetes: a digest reference, since a cluster pulls what a tag says later."""
    chosen: dict[str, str] = {}
    names = catalogue.image_names()
    for value in values:
        service, separator, reference = value.partition("=")
        if not separator or service not in names or "@sha256:" not in reference:
            raise NoaError(f"--service-image {value!r}: expected SERVICE=REGISTRY/NAME@sha256:DIGEST with "
                           f"SERVICE one of {', '.join(names)}")
        chosen[service] = reference
    return chosen


def pushed_digests(env: Environment, tag: str) -> dict[str, str]:
    return dict(images.load_record(tag)["pushed"].get(env.registry, {}))


def apply_command(env: Environment, manifests: Path) -> str:
    return kubectl(env, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts",
                   "-f", paths.shown(manifests))


def apply_release(c: Context, env: Environment, release: releases.Release, *, timeout: int,
                  clock: Clock | None = None) -> Outcome:
    """Apply a release's stored manifests, then `rollout status` per workload with the time that is left."""
    clock = clock or time.monotonic
    deadline = clock() + timeout
    manifests = releases.rendered_path(release)
    # Pods made before the apply are an earlier release's (whole seconds: creationTimestamp's own).
    began = datetime.now(UTC).replace(microsecond=0)
    applied = run(c, apply_command(env, manifests), echo=True)
    if applied.failed:
        reason = (applied.stderr.strip().splitlines() or [f"exit {applied.exited}"])[-1]
        return Outcome(False, ("apply",), detail=reason)
    for kind, name in workloads(manifests.read_text()):
        workload = f"{kind.lower()}/{name}"
        why = wait_for_workload(c, env, workload, deadline, clock, began=began)
        if why:
            return Outcome(False, (workload,), detail=why)
    return Outcome(True, ())


def wait_for_workload(c: Context, env: Environment, workload: str, deadline: float, clock: Clock, *,
                      began: datetime | None = None) -> str:
    """'' once `rollout status` says the workload is ready; else why not: the deadline passed, or
    one of its pods made since `began` cannot succeed (then at once, not at the deadline)."""
    while True:
        remaining = round(deadline - clock())
        waited = run(c, kubectl(env, "rollout", "status", workload,
                                f"--timeout={max(1, min(remaining, POLL_SECONDS))}s"), hide=True)
        if waited.ok:
            step("deploy", (waited.stdout.strip().splitlines() or [f"{workload} ready"])[-1])
            return ""
        if remaining <= POLL_SECONDS:
            return "not ready before the deadline"
        hopeless = hopeless_pods(pods_of(c, env, workload.split("/", 1)[1]), began)
        if hopeless:
            step("deploy", f"not waiting for the deadline: {'; '.join(hopeless)}")
            return "; ".join(hopeless)


def pods_of(c: Context, env: Environment, name: str) -> list[dict[str, Any]]:
    listed = run(c, kubectl(env, "get", "pods", "-l", f"{NAME_LABEL}={name}", "-o", "json"), hide=True)
    try:
        return list(json.loads(listed.stdout).get("items", [])) if listed.ok else []
    except (json.JSONDecodeError, AttributeError):
        return []


def hopeless_pods(pods: list[dict[str, Any]], began: datetime | None = None) -> list[str]:
    """Why each pod that cannot become ready by itself is so (pure: the pods as `kubectl get -o json`).
    Pods being deleted, and pods made before `began` (a broken release's, while a rollback waits),
    do not count."""
    found = []
    for pod in pods:
        metadata = pod.get("metadata") or {}
        if not this_release(metadata, began):
            continue
        status = pod.get("status") or {}
        containers = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
        pod_name = metadata.get("name", "?")
        found += [f"{pod_name}: {container.get('name', '?')} {why}" for container in containers
                  if (why := hopeless_container(container))]
    return found


def this_release(metadata: dict[str, Any], began: datetime | None) -> bool:
    if metadata.get("deletionTimestamp"):
        return False
    if began is None:
        return True
    try:
        created = datetime.fromisoformat(str(metadata.get("creationTimestamp", "")).replace("Z", "+00:00"))
    except ValueError:
        return True
    return created >= began


def hopeless_container(container: dict[str, Any]) -> str:
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    if reason in HOPELESS_REASONS:
        return f"{reason}: {waiting.get('message', '')}".rstrip(": ")
    last = (container.get("lastState") or {}).get("terminated") or {}
    restarts = int(container.get("restartCount") or 0)
    if restarts >= CRASH_LOOP_RESTARTS and last.get("exitCode") not in (0, None):
        return f"crash-loops: restarted {restarts} times, last exit code {last['exitCode']}" + (
            f" ({last['reason']})" if last.get("reason") not in (None, "", "Error") else "")
    return ""


def show_failure(c: Context, env: Environment, outcome: Outcome) -> None:
    """The failing workload's recent events and last log lines."""
    for workload in outcome.unhealthy:
        if workload == "apply":
            step("deploy", f"kubectl apply failed: {outcome.detail}")
            continue
        name = workload.split("/", 1)[1]
        listed = run(c, kubectl(env, "get", "events", "--sort-by=.lastTimestamp"), hide=True)
        mine = [line for line in listed.stdout.splitlines() if name in line][-15:]
        step("deploy", f"{workload}: {outcome.detail}; its last events:")
        out.print("\n".join(mine) or "(no events)", markup=False, highlight=False)
        step("deploy", f"{workload}: last log lines:")
        run(c, kubectl(env, "logs", workload, "--all-containers", "--timestamps", f"--tail={LOG_TAIL}"))


def render_release(c: Context, env: Environment, request: DeployRequest) -> Rendered:
    """Render the environment's variant and pin every Noa image to its pushed digest."""
    tag = images.current_tag(c)
    variant = variant_for(env)
    digests = {**pushed_digests(env, tag), **request.service_images}
    manifests, sources = pin_manifests(render(c, stage(env, variant)), env.image_prefix, digests)
    return Rendered(tag, manifests, {service: digests[service] for service in sources}, sources)


def show_plan(c: Context, env: Environment, request: DeployRequest) -> None:
    """--dry-run: `kubectl diff` of the pinned manifests against the cluster; nothing is applied."""
    path = paths.state("render", env.name, "dry-run.yaml")
    path.write_text(render_release(c, env, request).text)
    step("deploy", f"dry run: what would change in {env.kube_context}/{env.kube_namespace} "
                   f"(nothing is applied)")
    compared = run(c, kubectl(env, "diff", "--server-side", f"--field-manager={FIELD_MANAGER}",
                              "--force-conflicts", "-f", paths.shown(path)))
    # kubectl diff: 0 no differences, 1 differences shown, anything else an error.
    if compared.exited == 0:
        step("deploy", "dry run: nothing would change")
    elif compared.exited != 1:
        raise NoaError(f"deploy: kubectl diff failed (exit {compared.exited}); see its message above")


def statefulset_claims(statefulsets: dict[str, Any], claims: dict[str, Any]) -> list[str]:
    """The PVCs the StatefulSets' volumeClaimTemplates created: <template>-<statefulset>-<ordinal>."""
    patterns = []
    for item in statefulsets.get("items", []):
        name = item["metadata"]["name"]
        for template in item.get("spec", {}).get("volumeClaimTemplates", []) or []:
            patterns.append(re.compile(rf"^{re.escape(template['metadata']['name'])}-{re.escape(name)}-\d+$"))
    names = [item["metadata"]["name"] for item in claims.get("items", [])]
    return sorted(name for name in names if any(pattern.match(name) for pattern in patterns))


def get_json(c: Context, env: Environment, verb: str, *what: str) -> dict[str, Any]:
    result = run(c, kubectl(env, "get", *what, "-o", "json"), hide=True)
    if result.failed:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
        raise NoaError(f"{verb}: kubectl get {' '.join(what)} in {env.kube_context}/{env.kube_namespace} "
                       f"failed: {reason}")
    loaded: dict[str, Any] = json.loads(result.stdout or "{}")
    return loaded


def stored_data(c: Context, env: Environment) -> list[str]:
    """The PVCs of the namespace's StatefulSets: what `stop --purge` deletes (never the namespace)."""
    return statefulset_claims(get_json(c, env, "stop", "statefulsets"), get_json(c, env, "stop", "pvc"))


def halt(c: Context, env: Environment, doomed: list[str] | None) -> str:
    """Scale every Deployment and StatefulSet to zero, then delete the `doomed` claims."""
    run_checked(c, kubectl(env, "scale", "deployment,statefulset", "--all", "--replicas=0"),
                "kubectl scale", echo=True)
    if doomed:
        run_checked(c, kubectl(env, "delete", "pvc", *doomed), "kubectl delete pvc", echo=True)
    kept = "PVCs deleted" if doomed else "PVCs kept"
    return f"{env.kube_namespace} scaled to zero; {kept}; the namespace stays"


def workload_checks(listing: dict[str, Any]) -> list[Check]:
    """Readiness of each Deployment/StatefulSet from `kubectl get deployments,statefulsets -o json`."""
    checks = []
    for item in listing.get("items", []):
        if item.get("kind") not in WORKLOAD_KINDS:
            continue
        metadata = item.get("metadata", {})
        service = (metadata.get("labels") or {}).get(NAME_LABEL) or metadata.get("name", "?")
        wanted = item.get("spec", {}).get("replicas", 1)
        status = item.get("status", {})
        ready = status.get("readyReplicas", 0) or 0
        updated = status.get("updatedReplicas", 0) or 0
        ok = wanted > 0 and ready >= wanted and updated >= wanted
        state = "scaled to zero" if wanted == 0 else f"{ready}/{wanted} ready"
        workload = f"{item['kind'].lower()}/{metadata.get('name')}"
        checks.append(Check(service, "workload", ok, state, detail=workload))
    return checks


def port_forward_command(env: Environment, service: catalogue.Service) -> list[str]:
    """Port 0 on our side: kubectl picks a free local port and prints it."""
    return shlex.split(kubectl(env, "port-forward", f"service/{service.name}", f"0:{service.port}"))


_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


@contextlib.contextmanager
def port_forward(env: Environment, service: catalogue.Service, wait: float = 10.0) -> Iterator[int]:
    """A `kubectl port-forward` to the service for the block; yields the local port."""
    process = subprocess.Popen(port_forward_command(env, service), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + wait
        assert process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                match = _FORWARDING.search(process.stdout.readline())
                if match:
                    yield int(match.group(1))
                    return
            if process.poll() is not None:
                break
        raise OSError(f"port-forward to service/{service.name} did not start")
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def endpoint_checks(env: Environment, forwarder: Forwarder | None = None,
                    fetcher: probes.Fetch | None = None) -> list[Check]:
    """The three tiers of every HTTP service, through a port-forward each."""
    forwarder = forwarder or port_forward
    checks: list[Check] = []
    for service in catalogue.stack_services():
        if not service.is_http:
            continue
        try:
            with forwarder(env, service) as local:
                checks += [probes.probe_http(service, tier, fetcher, port=local) for tier in catalogue.Tier]
        except OSError as error:
            checks.append(Check(service.name, "port-forward", False, "no forward", detail=str(error)))
    return checks


def health(c: Context, env: Environment, forwarder: Forwarder | None = None,
                      fetcher: probes.Fetch | None = None) -> list[Check]:
    """Workload readiness, then the endpoints of the HTTP services, in catalogue order."""
    checks = workload_checks(get_json(c, env, "health", "deployments,statefulsets"))
    checks += endpoint_checks(env, forwarder, fetcher)
    order = {name: index for index, name in enumerate(catalogue.names())}
    return sorted(checks, key=lambda check: order.get(check.service, len(order)))


def selector(services: Iterable[str]) -> str:
    names = list(services)
    return f"{PART_OF},{NAME_LABEL} in ({','.join(names)})" if names else PART_OF


def log_streams(c: Context, env: Environment, label_selector: str) -> int:
    """How many containers the selector matches: kubectl opens one stream each (default cap 5)."""
    pods = get_json(c, env, "logs", "pods", f"--selector={label_selector}")
    count = sum(len(item.get("spec", {}).get("containers", [])) for item in pods.get("items", []))
    return max(count, 1)


def logs_command(env: Environment, label_selector: str, *, streams: int, tail: int, since: str = "",
                 follow: bool = False) -> str:
    words = ["logs", f"--selector={label_selector}", "--all-containers", "--prefix", "--timestamps",
             f"--max-log-requests={streams}", f"--tail={tail}"]
    if since:
        words.append(f"--since={since}")
    if follow:
        words.append("--follow")
    return kubectl(env, *words)


def pod_names(services: Iterable[str]) -> list[str]:
    """The pods (by app.kubernetes.io/name) that hold what was asked for: an exporter sidecar's
    are its store's (the monitoring component runs it there)."""
    return list(dict.fromkeys(exporter.reads if (exporter := catalogue.exporter_named(name)) else name
                              for name in services))


def shows_container(container: str, services: list[str]) -> bool:
    """`kubectl logs --all-containers` prints every container of the pods selected; of a store's pod
    (the store and its exporter sidecar) only the ones asked for. Nothing asked for: every one."""
    paired = {name for exporter in catalogue.EXPORTERS for name in (exporter.name, exporter.reads)}
    return not services or container not in paired or container in services


def log_parser(services: list[str]) -> LineParser:
    def parse(raw: str) -> service_logs.LogLine | None:
        line = service_logs.parse_kubectl_line(raw)
        return line if line is not None and shows_container(line.service, services) else None
    return parse


def follow_logs(c: Context, env: Environment, services: list[str], *, tail: int,
                since: str) -> tuple[str, LineParser]:
    chosen = selector(pod_names(services))
    command = logs_command(env, chosen, streams=log_streams(c, env, chosen), tail=tail, since=since,
                           follow=True)
    return command, log_parser(services)


def log_lines(c: Context, env: Environment, services: list[str], *, tail: int,
              since: str) -> list[service_logs.LogLine]:
    chosen = selector(pod_names(services))
    command = logs_command(env, chosen, streams=log_streams(c, env, chosen), tail=tail, since=since)
    answer = run(c, command, hide=True)
    if answer.failed:
        raise NoaError(f"logs: kubectl logs failed: {(answer.stderr.strip().splitlines() or ['?'])[-1]}")
    return service_logs.parse_all(answer.stdout, log_parser(services))


def parse_request(service_images: Iterable[str], hot_reload: bool,
                  profiles: tuple[str, ...] = ()) -> DeployRequest:
    if hot_reload:
        raise NoaError("--hot-reload is for compose only (it mounts the source into the containers)")
    if profiles:
        raise NoaError(f"compose profiles ({', '.join(profiles)}) are for compose only; on Kubernetes "
                       f"the cluster's Prometheus scrapes the services")
    return DeployRequest(parse_service_images(service_images))


def preflight_deploy(c: Context, env: Environment) -> None:
    require_context(c, env, "deploy")


def preflight(c: Context, env: Environment, verb: str) -> None:
    require_context(c, env, verb)


def preflight_read(c: Context, env: Environment, verb: str) -> None:
    """health, logs and a dry run read the cluster: the same context guard as the verbs that change it."""
    require_context(c, env, verb)


def where(env: Environment) -> str:
    return f"{env.kube_context}/{env.kube_namespace}"


def check_release(c: Context, release: releases.Release, verb: str) -> None:
    """The registry keeps every pushed digest: nothing to check here."""


def show_success(c: Context, env: Environment, outcome: Outcome) -> None:
    """`kubectl rollout status` printed each workload as it became ready."""


def secrets_source(env: Environment) -> str | None:
    """The dev overlay's Secret comes from the env file; the others' from a secrets component."""
    variant = variant_for(env)
    if variant.overlay == "dev":
        return None
    return f"the {', '.join(variant.components) or 'secrets'} component of {variant.name}"


def postgres_exec(env: Environment) -> list[str]:
    return ["kubectl", "--context", env.kube_context, "-n", env.kube_namespace, "exec", "-i", "postgres-0",
            "-c", "postgres", "--"]


def pause_writers(c: Context, env: Environment, services: list[str]) -> None:
    """Scale the Deployments to zero, each first annotated with its replicas (an HPA's count too),
    and wait until their pods are gone."""
    deployments = [f"deployment/{service}" for service in services]
    for item in deployment_objects(c, env, deployments):
        name, replicas = item["metadata"]["name"], int(item["spec"].get("replicas", 1))
        run_checked(c, kubectl(env, "annotate", "--overwrite", f"deployment/{name}",
                               f"{PAUSED_REPLICAS}={replicas}"), "kubectl annotate")
    run_checked(c, kubectl(env, "scale", *deployments, "--replicas=0"), "kubectl scale", echo=True)
    wait_until_gone(c, env, services)


def deployment_objects(c: Context, env: Environment, deployments: list[str]) -> list[dict[str, Any]]:
    """`kubectl get` of the named Deployments: a List of them, or the one object when one is named."""
    listed = get_json(c, env, "db-restore", *deployments)
    return list(listed.get("items", [listed]))


def wait_until_gone(c: Context, env: Environment, services: list[str], clock: Clock = time.monotonic) -> None:
    deadline = clock() + RESUME_TIMEOUT
    while pods := get_json(c, env, "db-restore", "pods", f"--selector={selector(services)}").get("items"):
        if clock() > deadline:
            names = ", ".join(pod["metadata"]["name"] for pod in pods)
            raise NoaError(f"db-restore: {names} still there {RESUME_TIMEOUT} s after scaling to zero")
        time.sleep(1)


def resume_writers(c: Context, env: Environment, services: list[str]) -> None:
    """Scale each back to the replicas noted by pause_writers and wait until it is ready."""
    deployments = [f"deployment/{service}" for service in services]
    for item in deployment_objects(c, env, deployments):
        name = item["metadata"]["name"]
        replicas = (item["metadata"].get("annotations") or {}).get(PAUSED_REPLICAS, "1")
        run_checked(c, kubectl(env, "scale", f"deployment/{name}", f"--replicas={replicas}"), "kubectl scale",
                    echo=True)
        run_checked(c, kubectl(env, "annotate", f"deployment/{name}", f"{PAUSED_REPLICAS}-"),
                    "kubectl annotate")
    for deployment in deployments:
        run_checked(c, kubectl(env, "rollout", "status", deployment, f"--timeout={RESUME_TIMEOUT}s"),
                    "kubectl rollout status")


def restored_secrets(env: Environment) -> str:
    """dev and SealedSecret releases hold their secrets; an ExternalSecret only names the store's keys."""
    variant = variant_for(env)
    if "external-secrets" in variant.components:
        return ("but not the noa-secrets Secret's values: the ExternalSecret keeps syncing the store's "
                "current ones (a rotated credential stays rotated; restore an older one in the store)")
    if "sealed-secrets" in variant.components:
        return "and the SealedSecret as that release sealed it (the controller unseals those values)"
    return "and the noa-secrets Secret as the release recorded it from the env file"


def show_arrival(env: Environment, outcome: Outcome | None = None) -> None:
    step("deploy", f"`invoke health --env {env.name}` probes every service through port-forwards")


def current_health(c: Context, env: Environment) -> list[Check]:
    require_context(c, env, "status")
    return workload_checks(get_json(c, env, "status", "deployments,statefulsets"))
