"""Hardening and consistency rules over rendered Kubernetes objects.

Each rule takes one rendered variant and returns its violations, one line each, naming the object
(`Kind/name`) and the field. test_rendered.py requires zero for every shipped variant;
test_rules_catch_defects.py feeds each rule a broken copy and requires it to notice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noa_common import env_catalogue
from noa_ops import catalogue, models
from noa_ops.k8s_render import SECRET_KEYS, Variant

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "services/ui/nginx.conf"
INIT_SQL = ROOT / "docker/init-db.sql"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
MIN_ID = 10000
RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")
# Pod Security "restricted" allows only these volume types.
ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SECRET_NAME = "noa-secrets"
INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"
# Egress out of the cluster, (pod, TCP port): llama's init step downloads MODEL_URL over https.
# Only to public addresses: each such ipBlock must except at least these ranges (the cluster's,
# the nodes', carrier-grade NAT and the link-local cloud metadata address).
INTERNET_EGRESS = {("llama", 443)}
PRIVATE_RANGES = {"10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"}
# The llama pod: the ConfigMap naming its model, the claim holding it, the init step filling it.
LLAMA_MODEL_CONFIG = "llama-model"
LLAMA_MODELS_CLAIM = "llama-models"
MODEL_FETCHER = "fetch-model"

# Probe timings (SEED_FACTS "Health checks"): (initialDelaySeconds, periodSeconds, timeoutSeconds,
# failureThreshold). Startup: 5 s x 30 (150 s); llama loads a model: 10 s x 60 (600 s).
PROBE_TIMINGS = {
    "livenessProbe": (30, 10, 5, 3),
    "readinessProbe": (10, 5, 3, 3),
}
STARTUP_BUDGET = {"default": (5, 30), "llama": (10, 60)}
TIER_OF_PROBE = {
    "startupProbe": catalogue.Tier.STARTUP,
    "readinessProbe": catalogue.Tier.READY,
    "livenessProbe": catalogue.Tier.LIVE,
}

# prod autoscaling (SEED_FACTS): name -> (min, max, cpu %, memory % or None)
PROD_HPAS = {"mcp": (2, 10, 70, 80), "claude-flow": (2, 8, 70, 80), "ui": (3, 15, 75, None)}
APP_DEPLOYMENTS = ("mcp", "claude-flow", "agenticos", "ui")


@dataclass
class Render:
    variant: Variant
    objects: list[Obj]

    @property
    def environment(self) -> str:
        return self.variant.overlay


# -- helpers ---------------------------------------------------------------------------------------


def ref(obj: Obj) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name"))


def of_kind(render: Render, *kinds: str) -> list[Obj]:
    return [obj for obj in render.objects if obj.get("kind") in kinds]


def find(render: Render, kind: str, name: str) -> Obj | None:
    for obj in of_kind(render, kind):
        if name_of(obj) == name:
            return obj
    return None


def pod_template(obj: Obj) -> Obj:
    """The pod (metadata + spec) a workload creates."""
    if obj["kind"] == "Pod":
        return obj
    if obj["kind"] == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"])
    return dict(obj["spec"]["template"])


def workloads(render: Render) -> list[Obj]:
    return of_kind(render, *WORKLOAD_KINDS)


def containers(pod_spec: Obj) -> Iterator[tuple[str, Obj]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(pod_spec.get(key) or []):
            yield f"spec.template.spec.{key}[{index}]({container.get('name')})", container


def running_containers(pod_spec: Obj) -> Iterator[tuple[str, Obj]]:
    """containers() without the init containers, which run to completion and take no probes."""
    return ((path, c) for path, c in containers(pod_spec) if ".initContainers[" not in path)


def template_labels(obj: Obj) -> dict[str, str]:
    return dict((pod_template(obj).get("metadata") or {}).get("labels") or {})


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def match_labels(obj: Obj) -> dict[str, str]:
    selector = (obj.get("spec") or {}).get("selector") or {}
    if obj["kind"] == "Service":
        return dict(selector)
    return dict(selector.get("matchLabels") or {})


def env_names(container: Obj) -> dict[str, Obj]:
    return {item["name"]: item for item in container.get("env") or []}


def configmap_keys(render: Render, container: Obj) -> set[str]:
    keys: set[str] = set()
    for source in container.get("envFrom") or []:
        name = (source.get("configMapRef") or {}).get("name")
        configmap = find(render, "ConfigMap", name) if name else None
        if configmap is not None:
            keys |= set((configmap.get("data") or {}).keys())
    return keys


def secret_key_refs(render: Render) -> set[str]:
    keys: set[str] = set()
    for workload in workloads(render):
        spec = pod_template(workload)["spec"]
        for _, container in containers(spec):
            for item in container.get("env") or []:
                secret_ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if secret_ref:
                    keys.add(secret_ref["key"])
        for volume in spec.get("volumes") or []:
            for item in (volume.get("secret") or {}).get("items") or []:
                keys.add(item["key"])
    return keys


def named_port(container: Obj, port: Any) -> int | None:
    if isinstance(port, int):
        return port
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item["containerPort"])
    return None


def nginx_api_routes(text: str) -> dict[str, tuple[str, int]]:
    """`location /api/<x>/ { ... proxy_pass http://<host>:<port>/; }` -> {"/api/<x>": (host, port)}."""
    routes = {}
    for match in re.finditer(r"location (/api/[^/\s]+)/ \{(.*?)\n\s*\}", text, flags=re.DOTALL):
        upstream = re.search(r"proxy_pass http://([^:/\s]+):(\d+)/;", match.group(2))
        if upstream:
            routes[match.group(1)] = (upstream.group(1), int(upstream.group(2)))
    return routes


# -- rules -----------------------------------------------------------------------------------------


def pod_security_restricted(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """Pod Security "restricted", stated explicitly, plus our UID/GID floor and read-only roots."""
    problems = []
    for workload in workloads(render):
        where = ref(workload)
        spec = pod_template(workload)["spec"]
        pod_sc = spec.get("securityContext") or {}
        if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(
                f"{where}: spec.template.spec.securityContext.seccompProfile.type must be RuntimeDefault"
            )
        if pod_sc.get("runAsNonRoot") is not True:
            problems.append(f"{where}: spec.template.spec.securityContext.runAsNonRoot must be true")
        for key in ("runAsUser", "runAsGroup", "fsGroup"):
            value = pod_sc.get(key)
            if not isinstance(value, int) or value < MIN_ID:
                problems.append(
                    f"{where}: spec.template.spec.securityContext.{key} must be >= {MIN_ID} (is {value})"
                )
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                problems.append(f"{where}: spec.template.spec.{key} must not be set")
        for volume in spec.get("volumes") or []:
            kinds = set(volume) - {"name"}
            if not kinds <= ALLOWED_VOLUME_TYPES:
                problems.append(f"{where}: volume {volume.get('name')} uses {sorted(kinds)}, not allowed")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: spec.template.spec.automountServiceAccountToken must be false")
        if spec.get("serviceAccountName") in (None, "", "default"):
            problems.append(f"{where}: spec.template.spec.serviceAccountName must name its own account")
        for path, container in containers(spec):
            sc = container.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: {path}.securityContext.allowPrivilegeEscalation must be false")
            if sc.get("privileged"):
                problems.append(f"{where}: {path}.securityContext.privileged must not be true")
            capabilities = sc.get("capabilities") or {}
            if "ALL" not in (capabilities.get("drop") or []):
                problems.append(f"{where}: {path}.securityContext.capabilities.drop must contain ALL")
            if capabilities.get("add"):
                problems.append(f"{where}: {path}.securityContext.capabilities.add must be empty")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: {path}.securityContext.readOnlyRootFilesystem must be true")
            profile = (sc.get("seccompProfile") or {}).get("type")
            if profile not in (None, "RuntimeDefault", "Localhost"):
                problems.append(
                    f"{where}: {path}.securityContext.seccompProfile.type {profile} is not allowed"
                )
            if sc.get("runAsNonRoot") is False:
                problems.append(f"{where}: {path}.securityContext.runAsNonRoot must not be false")
            for key in ("runAsUser", "runAsGroup"):
                if key in sc and (not isinstance(sc[key], int) or sc[key] < MIN_ID):
                    problems.append(f"{where}: {path}.securityContext.{key} must be >= {MIN_ID}")
            for port in container.get("ports") or []:
                if port.get("hostPort"):
                    problems.append(f"{where}: {path}.ports hostPort must not be set")
    return problems


def namespaces_enforce_restricted(render: Render) -> list[str]:
    problems = []
    namespaces = of_kind(render, "Namespace")
    expected = f"noa-server-{render.environment}"
    if [name_of(ns) for ns in namespaces] != [expected]:
        problems.append(
            f"Namespace: the render must hold exactly {expected} (has {[name_of(n) for n in namespaces]})"
        )
    for namespace in namespaces:
        labels = (namespace.get("metadata") or {}).get("labels") or {}
        for mode in ("enforce", "audit", "warn"):
            if labels.get(f"pod-security.kubernetes.io/{mode}") != "restricted":
                problems.append(
                    f"{ref(namespace)}: metadata.labels.pod-security.kubernetes.io/{mode} must be restricted"
                )
    for obj in render.objects:
        if obj.get("kind") in ("Namespace",):
            continue
        object_namespace = (obj.get("metadata") or {}).get("namespace")
        if object_namespace != expected:
            problems.append(f"{ref(obj)}: metadata.namespace must be {expected} (is {object_namespace})")
    return problems


def containers_are_complete(render: Render) -> list[str]:
    """Resources, image by tag pulled Always, and the three probes on every container."""
    problems = []
    for workload in workloads(render):
        for path, container in containers(pod_template(workload)["spec"]):
            where = f"{ref(workload)}: {path}"
            init = ".initContainers[" in path
            resources = container.get("resources") or {}
            for section in ("requests", "limits"):
                for resource in RESOURCE_NAMES:
                    if resource not in (resources.get(section) or {}):
                        problems.append(f"{where}.resources.{section}.{resource} is missing")
            image = str(container.get("image", ""))
            tag = image.rsplit("/", 1)[-1].partition("@")[0].partition(":")[2]
            if not tag or tag == "latest":
                problems.append(f"{where}.image {image!r} must carry a fixed tag (not latest)")
            if container.get("imagePullPolicy") != "Always":
                problems.append(f"{where}.imagePullPolicy must be Always")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                # An init container runs to completion: Kubernetes refuses probes on it.
                if init and probe in container:
                    problems.append(f"{where}.{probe}: an init container takes no probes")
                if not init and probe not in container:
                    problems.append(f"{where}.{probe} is missing")
                for handler in ("exec",):
                    command = ((container.get(probe) or {}).get(handler) or {}).get("command") or []
                    if any("$(" in str(part) for part in command):
                        problems.append(
                            f"{where}.{probe}.exec.command uses $(VAR), which exec probes never expand"
                        )
    return problems


def probes_follow_catalogue(render: Render) -> list[str]:
    """HTTP probes on the path the catalogue gives each tier, on the catalogue's port, with SEED timings."""
    problems = []
    for workload in workloads(render):
        service = catalogue.get(name_of(workload)) if name_of(workload) in catalogue.names() else None
        for path, container in running_containers(pod_template(workload)["spec"]):
            where = f"{ref(workload)}: {path}"
            for probe_name, tier in TIER_OF_PROBE.items():
                probe = container.get(probe_name) or {}
                http = probe.get("httpGet")
                if service is not None and service.health is not None:
                    if http is None:
                        problems.append(
                            f"{where}.{probe_name} must be an httpGet on {service.health.path(tier)}"
                        )
                        continue
                    if http.get("path") != service.health.path(tier):
                        problems.append(
                            f"{where}.{probe_name}.httpGet.path {http.get('path')!r}: {service.name} "
                            f"serves its {tier} tier on {service.health.path(tier)!r}"
                        )
                    if named_port(container, http.get("port")) != service.port:
                        problems.append(
                            f"{where}.{probe_name}.httpGet.port is not {service.name}'s port {service.port}"
                        )
                elif http is not None:
                    problems.append(
                        f"{where}.{probe_name}.httpGet: {name_of(workload)} serves no HTTP health path"
                    )
                if probe_name == "startupProbe":
                    budget = STARTUP_BUDGET.get(name_of(workload), STARTUP_BUDGET["default"])
                    actual = (probe.get("periodSeconds"), probe.get("failureThreshold"))
                    if actual != budget:
                        problems.append(
                            f"{where}.startupProbe period/failureThreshold {actual} must be {budget}"
                        )
                elif probe:
                    timing = (
                        probe.get("initialDelaySeconds"),
                        probe.get("periodSeconds"),
                        probe.get("timeoutSeconds"),
                        probe.get("failureThreshold"),
                    )
                    if timing != PROBE_TIMINGS[probe_name]:
                        problems.append(
                            f"{where}.{probe_name} timings {timing} must be {PROBE_TIMINGS[probe_name]}"
                        )
    return problems


def selectors_are_distinct(render: Render) -> list[str]:
    """Each selector is exactly {app.kubernetes.io/name: <its service>} and matches one workload's pods."""
    problems = []
    all_workloads = workloads(render)
    for obj in [*all_workloads, *of_kind(render, "Service", "PodDisruptionBudget")]:
        selector = match_labels(obj)
        field = "spec.selector" if obj["kind"] == "Service" else "spec.selector.matchLabels"
        if obj["kind"] in WORKLOAD_KINDS and obj["kind"] != "Pod":
            expected = {"app.kubernetes.io/name": template_labels(obj).get("app.kubernetes.io/name")}
            if selector != expected:
                problems.append(
                    f"{ref(obj)}: {field} {selector} must be exactly {expected} (no label transformer)"
                )
        matched = [ref(w) for w in all_workloads if selector_matches(selector, template_labels(w))]
        if len(matched) > 1:
            problems.append(f"{ref(obj)}: {field} {selector} selects the pods of {', '.join(matched)}")
    return problems


def services_select_pods(render: Render) -> list[str]:
    """Every Service selects a workload's pods, and each targetPort is one of their container ports."""
    problems = []
    for service in of_kind(render, "Service"):
        selector = match_labels(service)
        matched = [w for w in workloads(render) if selector_matches(selector, template_labels(w))]
        if not matched:
            problems.append(f"{ref(service)}: spec.selector {selector} selects no pods")
            continue
        for index, port in enumerate(service["spec"].get("ports") or []):
            target = port.get("targetPort", port.get("port"))
            for workload in matched:
                found = any(
                    named_port(c, target) is not None
                    and named_port(c, target) in [p.get("containerPort") for p in c.get("ports") or []]
                    for _, c in containers(pod_template(workload)["spec"])
                )
                if not found:
                    problems.append(
                        f"{ref(service)}: spec.ports[{index}].targetPort {target!r} is no container "
                        f"port of {ref(workload)}"
                    )
    return problems


def agrees_with_catalogue(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """Names, ports, labels, kinds and images as noa_ops/catalogue.py describes them."""
    problems = []
    names = set(catalogue.names())
    for other in workloads(render):
        if name_of(other) not in names:
            problems.append(f"{ref(other)}: not a service of noa_ops/catalogue.py")
    for service in catalogue.SERVICES:
        stateful = not service.is_http
        kind = "StatefulSet" if stateful else "Deployment"
        workload = find(render, kind, service.name)
        if workload is None:
            problems.append(f"{kind}/{service.name}: missing (catalogue service {service.name})")
            continue
        labels = template_labels(workload)
        if labels.get("app.kubernetes.io/name") != service.name:
            problems.append(f"{ref(workload)}: pod label app.kubernetes.io/name must be {service.name}")
        container = (pod_template(workload)["spec"].get("containers") or [{}])[0]
        if container.get("name") != service.name:
            problems.append(f"{ref(workload)}: spec.template.spec.containers[0].name must be {service.name}")
        ports = [p.get("containerPort") for p in container.get("ports") or []]
        if ports != [service.port]:
            problems.append(f"{ref(workload)}: containers[0].ports {ports} must be [{service.port}]")
        image = str(container.get("image", "")).partition("@")[0].rpartition(":")[0]
        targets = {f"noa/{service.target}"} | ({"noa/llama-cuda"} if service.name == "llama" else set())
        if image not in targets:
            problems.append(
                f"{ref(workload)}: containers[0].image {image!r} is not built from target {service.target}"
            )
        svc = find(render, "Service", service.name)
        if svc is None:
            problems.append(f"Service/{service.name}: missing (catalogue service {service.name})")
        else:
            svc_ports = [p.get("port") for p in svc["spec"].get("ports") or []]
            if svc_ports != [service.port]:
                problems.append(f"{ref(svc)}: spec.ports {svc_ports} must be [{service.port}]")
            if stateful and svc["spec"].get("clusterIP") != "None":
                problems.append(f"{ref(svc)}: spec.clusterIP must be None (headless, for the StatefulSet)")
            if stateful and workload["spec"].get("serviceName") != service.name:
                problems.append(f"{ref(workload)}: spec.serviceName must be {service.name}")
        if stateful and not workload["spec"].get("volumeClaimTemplates"):
            problems.append(f"{ref(workload)}: spec.volumeClaimTemplates is missing")
        if find(render, "ServiceAccount", service.name) is None:
            problems.append(f"ServiceAccount/{service.name}: missing")
    for account in of_kind(render, "ServiceAccount"):
        if account.get("automountServiceAccountToken") is not False:
            problems.append(f"{ref(account)}: automountServiceAccountToken must be false")
    return problems


def no_shared_read_write_once_claims(render: Render) -> list[str]:
    """A claim is mounted by one pod at most: Deployments with claims run one replica and Recreate."""
    problems = []
    users: dict[str, list[str]] = {}
    scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(render, "HorizontalPodAutoscaler")}
    for workload in workloads(render):
        for volume in pod_template(workload)["spec"].get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            users.setdefault(claim, []).append(ref(workload))
            spec = workload["spec"]
            if workload["kind"] != "Deployment":
                continue
            if spec.get("replicas") != 1 or name_of(workload) in scaled:
                problems.append(
                    f"{ref(workload)}: mounts claim {claim} and must run exactly one replica (no HPA)"
                )
            if (spec.get("strategy") or {}).get("type") != "Recreate":
                problems.append(f"{ref(workload)}: mounts claim {claim}; spec.strategy.type must be Recreate")
    for claim, holders in users.items():
        if len(holders) > 1:
            problems.append(f"PersistentVolumeClaim/{claim}: mounted by {', '.join(holders)}")
    return problems


def disruption_budgets(render: Render) -> list[str]:
    problems = []
    budgets = of_kind(render, "PodDisruptionBudget")
    for workload in workloads(render):
        covering = [b for b in budgets if selector_matches(match_labels(b), template_labels(workload))]
        if len(covering) != 1:
            problems.append(f"{ref(workload)}: needs exactly one PodDisruptionBudget (has {len(covering)})")
    for budget in budgets:
        spec = budget["spec"]
        if spec.get("maxUnavailable") != 1 or "minAvailable" in spec:
            problems.append(f"{ref(budget)}: spec.maxUnavailable must be 1 (and no minAvailable)")
        if spec.get("unhealthyPodEvictionPolicy") != "AlwaysAllow":
            problems.append(f"{ref(budget)}: spec.unhealthyPodEvictionPolicy must be AlwaysAllow")
    return problems


def _peer_names(peers: list[Obj]) -> set[str]:
    names = set()
    for peer in peers:
        if "namespaceSelector" in peer or "ipBlock" in peer:
            continue
        names.add(
            str(((peer.get("podSelector") or {}).get("matchLabels") or {}).get("app.kubernetes.io/name"))
        )
    return names


def expected_edges() -> set[tuple[str, str]]:
    """(client, server): the catalogue's dependencies plus the services behind the URL settings
    each service reads (claude-flow's LLAMA_URL is an edge but no readiness dependency)."""
    edges = {(service.name, dep) for service in catalogue.SERVICES for dep in service.depends_on}
    for variable in env_catalogue.VARIABLES:
        host = re.match(r"^https?://([^:/]+)", variable.default or "")
        if variable.name.endswith("_URL") and host and host.group(1) in catalogue.names():
            edges |= {(client, host.group(1)) for client in variable.services}
    return edges


def _internet_egress(where: str, owner: str, rule: Obj, found: set[tuple[str, int]]) -> list[str]:
    """An egress rule's ipBlock peers: TCP ports only, every private range excepted; adds to found."""
    peers = rule.get("to") or []
    blocks = [peer["ipBlock"] for peer in peers if "ipBlock" in peer]
    if not blocks:
        return []
    problems = []
    if len(blocks) != len(peers):
        problems.append(f"{where}: mixes ipBlock and in-cluster peers in one rule")
    ports = rule.get("ports") or []
    if not ports:
        problems.append(f"{where}: an ipBlock peer on every port")
    for port in ports:
        if port.get("protocol", "TCP") != "TCP" or not isinstance(port.get("port"), int):
            problems.append(f"{where}: ipBlock port {port} must be one TCP port number")
        else:
            found.add((owner, port["port"]))
    for block in blocks:
        missing = PRIVATE_RANGES - set(block.get("except") or [])
        if missing:
            problems.append(f"{where}: ipBlock {block.get('cidr')} must except {sorted(missing)}")
    return problems


def network_policies(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """Default deny both ways, DNS for all, exactly the expected edges (expected_edges) and exactly
    the expected egress out of the cluster (INTERNET_EGRESS)."""
    problems = []
    policies = of_kind(render, "NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["spec"].get("podSelector") == {}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
    ]
    if not deny:
        problems.append(
            "NetworkPolicy: no default deny (podSelector {}, policyTypes Ingress and Egress, no rules)"
        )
    dns = [
        p
        for p in policies
        if p["spec"].get("podSelector") == {}
        and any(
            any(port.get("port") == 53 for port in rule.get("ports") or [])
            for rule in p["spec"].get("egress") or []
        )
    ]
    if not dns:
        problems.append("NetworkPolicy: no egress to DNS (port 53) for every pod")
    ports = {service.name: service.port for service in catalogue.SERVICES}
    expected = expected_edges()
    egress: set[tuple[str, str]] = set()
    ingress: set[tuple[str, str]] = set()
    internet: set[tuple[str, int]] = set()
    controller_to_ui = False
    for policy in policies:
        spec = policy["spec"]
        owner = (spec.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name")
        if owner is None:
            continue
        for index, rule in enumerate(spec.get("egress") or []):
            rule_ports = {p.get("port") for p in rule.get("ports") or []}
            for peer in _peer_names(rule.get("to") or []):
                egress.add((owner, peer))
                if rule_ports != {ports.get(peer)}:
                    problems.append(
                        f"{ref(policy)}: spec.egress[{index}] to {peer} must allow exactly port "
                        f"{ports.get(peer)}"
                    )
            if not rule.get("to"):
                problems.append(f"{ref(policy)}: spec.egress[{index}] allows every destination")
            problems += _internet_egress(f"{ref(policy)}: spec.egress[{index}]", owner, rule, internet)
        for index, rule in enumerate(spec.get("ingress") or []):
            rule_ports = {p.get("port") for p in rule.get("ports") or []}
            if rule_ports != {ports.get(owner)}:
                problems.append(
                    f"{ref(policy)}: spec.ingress[{index}] must allow exactly port {ports.get(owner)}"
                )
            for peer in rule.get("from") or []:
                namespace = ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get(
                    "kubernetes.io/metadata.name"
                )
                if owner == "ui" and namespace == INGRESS_CONTROLLER_NAMESPACE:
                    controller_to_ui = True
            for peer in _peer_names(rule.get("from") or []):
                ingress.add((peer, owner))
            if any("ipBlock" in peer for peer in rule.get("from") or []):
                problems.append(f"{ref(policy)}: spec.ingress[{index}] admits addresses by ipBlock")
            if not rule.get("from"):
                problems.append(f"{ref(policy)}: spec.ingress[{index}] admits every source")
    for client, server in sorted(expected - egress):
        problems.append(f"NetworkPolicy: no egress allow from {client} to its dependency {server}")
    for client, server in sorted(expected - ingress):
        problems.append(f"NetworkPolicy: no ingress allow on {server} from its dependant {client}")
    for client, server in sorted((egress | ingress) - expected):
        problems.append(
            f"NetworkPolicy: {client} -> {server} is allowed but the catalogues name no such need"
        )
    for pod, port in sorted(INTERNET_EGRESS - internet):
        problems.append(f"NetworkPolicy: no egress allow from {pod} to the internet on TCP {port}")
    for pod, port in sorted(internet - INTERNET_EGRESS):
        problems.append(
            f"NetworkPolicy: {pod} may reach the internet on TCP {port}, which INTERNET_EGRESS does not name"
        )
    if not controller_to_ui:
        problems.append(
            f"NetworkPolicy: no ingress allow from the {INGRESS_CONTROLLER_NAMESPACE} namespace to ui"
        )
    return problems


def ingress_matches_ui_routing(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """TLS through cert-manager, a class, and /api paths that the ui's nginx proxies (prefix stripped)."""
    problems = []
    ingresses = of_kind(render, "Ingress")
    if len(ingresses) != 1:
        return [f"Ingress: expected one, found {len(ingresses)}"]
    ingress = ingresses[0]
    where = ref(ingress)
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    spec = ingress["spec"]
    if not spec.get("ingressClassName"):
        problems.append(f"{where}: spec.ingressClassName is missing")
    if "kubernetes.io/ingress.class" in annotations:
        problems.append(f"{where}: the deprecated kubernetes.io/ingress.class annotation is set")
    if not ({"cert-manager.io/cluster-issuer", "cert-manager.io/issuer"} & set(annotations)):
        problems.append(f"{where}: metadata.annotations needs a cert-manager issuer")
    if any("cors" in key and annotations[key] == "*" for key in annotations):
        problems.append(f"{where}: CORS from * is not allowed")
    hosts = [rule.get("host") for rule in spec.get("rules") or []]
    tls_hosts = [host for tls in spec.get("tls") or [] for host in tls.get("hosts") or []]
    if not tls_hosts or set(hosts) - set(tls_hosts):
        problems.append(f"{where}: spec.tls must cover every host {hosts}")
    routes = nginx_api_routes(NGINX_CONF.read_text())
    paths: dict[str, Obj] = {}
    for rule in spec.get("rules") or []:
        for item in (rule.get("http") or {}).get("paths") or []:
            paths[item["path"]] = item
    ui_port = catalogue.get("ui").port
    for path, item in paths.items():
        backend = item["backend"]["service"]
        if backend.get("name") != "ui":
            problems.append(
                f"{where}: path {path} goes to {backend.get('name')}; every path enters through ui, "
                "whose nginx strips the /api prefix"
            )
        port = backend.get("port") or {}
        if port.get("name") not in (None, "http") or port.get("number") not in (None, ui_port):
            problems.append(f"{where}: path {path} must use the ui Service's http port")
        if path.startswith("/api/") and path not in routes:
            problems.append(f"{where}: path {path} has no `location {path}/` in services/ui/nginx.conf")
    for path, (host, port) in routes.items():
        if path not in paths:
            problems.append(f"{where}: nginx proxies {path}/ but the Ingress has no path {path}")
        if host not in catalogue.names() or catalogue.get(host).port != port:
            problems.append(
                f"services/ui/nginx.conf: {path}/ proxies to {host}:{port}, not a catalogue service port"
            )
        if path != f"/api/{host}":
            problems.append(
                f"services/ui/nginx.conf: {path}/ proxies to {host}; the path must be /api/{host}"
            )
    if "/" not in paths:
        problems.append(f"{where}: no path / for the dashboard")
    return problems


def mounted_files_are_the_sources(render: Render) -> list[str]:
    """The ui mounts the nginx.conf of services/ui, postgres runs the init-db.sql of docker/."""
    problems = []
    for workload_kind, workload_name, mount_path, key, source in (
        ("Deployment", "ui", "/etc/nginx/nginx.conf", "nginx.conf", NGINX_CONF),
        ("StatefulSet", "postgres", "/docker-entrypoint-initdb.d", "init-db.sql", INIT_SQL),
    ):
        workload = find(render, workload_kind, workload_name)
        if workload is None:
            problems.append(f"{workload_kind}/{workload_name}: missing")
            continue
        spec = pod_template(workload)["spec"]
        container = spec["containers"][0]
        mounts = {m["mountPath"]: m for m in container.get("volumeMounts") or []}
        if mount_path not in mounts:
            problems.append(f"{ref(workload)}: nothing is mounted at {mount_path}")
            continue
        wanted = mounts[mount_path]["name"]
        volume: Obj = next((v for v in spec.get("volumes") or [] if v["name"] == wanted), {})
        configmap = find(render, "ConfigMap", (volume.get("configMap") or {}).get("name", ""))
        if configmap is None:
            problems.append(f"{ref(workload)}: the volume at {mount_path} is no ConfigMap of this render")
        elif (configmap.get("data") or {}).get(key) != source.read_text():
            problems.append(f"{ref(configmap)}: data.{key} differs from {source.relative_to(ROOT)}")
    return problems


def secrets_come_from_one_source(render: Render) -> list[str]:
    """No secret value outside dev's generated Secret; every key the pods use comes from the source."""
    problems = []
    used = secret_key_refs(render)
    if not used <= set(SECRET_KEYS):
        problems.append(f"workloads use secret keys {sorted(used - set(SECRET_KEYS))} that noa-secrets lacks")
    sources: list[tuple[str, set[str]]] = []
    for secret in of_kind(render, "Secret"):
        if render.environment != "dev" or not name_of(secret).startswith(f"{SECRET_NAME}-"):
            problems.append(
                f"{ref(secret)}: a Secret with values in the manifests (dev generates its own only)"
            )
        sources.append((ref(secret), set((secret.get("data") or {}).keys())))
    for external in of_kind(render, "ExternalSecret"):
        if external["spec"]["target"]["name"] != SECRET_NAME:
            problems.append(f"{ref(external)}: spec.target.name must be {SECRET_NAME}")
        sources.append((ref(external), {item["secretKey"] for item in external["spec"].get("data") or []}))
    for sealed in of_kind(render, "SealedSecret"):
        encrypted = sealed["spec"].get("encryptedData") or {}
        if any(encrypted.values()):
            problems.append(f"{ref(sealed)}: spec.encryptedData is filled at deploy time, never committed")
        sources.append((ref(sealed), set(encrypted)))
    if render.variant.complete and len(sources) != 1:
        problems.append(f"exactly one source of {SECRET_NAME} expected, found {[s for s, _ in sources]}")
    for where, keys in sources:
        if keys != set(SECRET_KEYS):
            problems.append(f"{where}: keys {sorted(keys)} must be {sorted(SECRET_KEYS)}")
    return problems


def environment_follows_settings_catalogue(render: Render) -> list[str]:
    """Each app container gets every required setting, secrets only by reference, ports as catalogued."""
    problems = []
    for service_name in env_catalogue.APP_SERVICES:
        workload = find(render, "Deployment", service_name)
        if workload is None:
            problems.append(f"Deployment/{service_name}: missing")
            continue
        container = pod_template(workload)["spec"]["containers"][0]
        where = f"{ref(workload)}: spec.template.spec.containers[0]"
        env = env_names(container)
        from_configmap = configmap_keys(render, container)
        known = {variable.name: variable for variable in env_catalogue.variables_for(service_name)}
        for name, variable in known.items():
            supplied = name in env or name in from_configmap
            if variable.required and not supplied:
                problems.append(f"{where}.env: required setting {name} is not set")
            if variable.secret and name in from_configmap:
                problems.append(f"{where}.envFrom: secret {name} comes from a ConfigMap")
            if variable.secret and name in env and "secretKeyRef" not in (env[name].get("valueFrom") or {}):
                problems.append(f"{where}.env[{name}]: a secret must come from a secretKeyRef")
        for name in env:
            if name not in known:
                problems.append(f"{where}.env[{name}]: {service_name} reads no such setting")
        port_variable = env_catalogue.PORT_VARIABLES[service_name]
        if env.get(port_variable, {}).get("value") != str(catalogue.get(service_name).port):
            problems.append(f"{where}.env[{port_variable}] must be {catalogue.get(service_name).port}")
    generated = {v.name for v in env_catalogue.VARIABLES if v.secret and v.required}
    if generated != set(SECRET_KEYS):
        problems.append(
            f"noa_ops.k8s_render.SECRET_KEYS {sorted(SECRET_KEYS)} differ from the required secret "
            f"settings {sorted(generated)}"
        )
    return problems


def environment_shape(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """dev: one replica, debug, no HPA, CPU llama. staging: two app replicas. prod: HPAs and spread."""
    problems = []
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(render, "HorizontalPodAutoscaler")}
    llama = find(render, "Deployment", "llama")
    llama_container = pod_template(llama)["spec"]["containers"][0] if llama else {}
    gpu_limit = (llama_container.get("resources") or {}).get("limits", {}).get("nvidia.com/gpu")
    config = next((c for c in of_kind(render, "ConfigMap") if name_of(c).startswith("noa-config")), {})
    log_level = (config.get("data") or {}).get("LOG_LEVEL")
    if render.environment == "dev":
        if hpas:
            problems.append(f"HorizontalPodAutoscaler: dev has none (found {sorted(hpas)})")
        for workload in workloads(render):
            if workload["spec"].get("replicas") != 1:
                problems.append(f"{ref(workload)}: spec.replicas must be 1 in dev")
        if log_level != "debug":
            problems.append(f"ConfigMap/{name_of(config)}: data.LOG_LEVEL must be debug in dev")
        if gpu_limit is not None or "cuda" in str(llama_container.get("image")):
            problems.append("Deployment/llama: dev runs the CPU image without a GPU")
        return problems
    if gpu_limit != "1" or not str(llama_container.get("image", "")).startswith("noa/llama-cuda:"):
        problems.append("Deployment/llama: staging and prod run noa/llama-cuda with one nvidia.com/gpu")
    if llama is not None:
        llama_spec = pod_template(llama)["spec"]
        if not (llama_spec.get("nodeSelector") and llama_spec.get("tolerations")):
            problems.append("Deployment/llama: spec.template.spec needs the GPU nodeSelector and toleration")
    if render.environment == "staging":
        for name in APP_DEPLOYMENTS:
            found = find(render, "Deployment", name)
            if found is not None and found["spec"].get("replicas") != 2:
                problems.append(f"Deployment/{name}: spec.replicas must be 2 in staging")
        if hpas:
            problems.append(f"HorizontalPodAutoscaler: staging has none (found {sorted(hpas)})")
        return problems
    if set(hpas) != set(PROD_HPAS):
        problems.append(f"HorizontalPodAutoscaler: prod scales {sorted(PROD_HPAS)} (found {sorted(hpas)})")
    for name, (low, high, cpu, memory) in PROD_HPAS.items():
        hpa = hpas.get(name)
        if hpa is None:
            continue
        spec = hpa["spec"]
        targets = {
            m["resource"]["name"]: m["resource"]["target"].get("averageUtilization")
            for m in spec.get("metrics") or []
            if m.get("type") == "Resource"
        }
        wanted = {"cpu": cpu, **({"memory": memory} if memory else {})}
        if (spec.get("minReplicas"), spec.get("maxReplicas"), targets) != (low, high, wanted):
            problems.append(f"{ref(hpa)}: min/max/targets must be {low}-{high} {wanted}")
        behavior = spec.get("behavior") or {}
        if (behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds") != 300 or (
            behavior.get("scaleUp") or {}
        ).get("stabilizationWindowSeconds") != 0:
            problems.append(f"{ref(hpa)}: spec.behavior must scale down over 300 s and up at once")
        found = find(render, "Deployment", name)
        if found is not None and "replicas" in found["spec"]:
            problems.append(
                f"Deployment/{name}: spec.replicas is set although HorizontalPodAutoscaler/{name} scales it"
            )
    for name in APP_DEPLOYMENTS:
        found = find(render, "Deployment", name)
        spread = pod_template(found)["spec"].get("topologySpreadConstraints") if found else None
        if not spread or spread[0].get("topologyKey") != "kubernetes.io/hostname":
            problems.append(
                f"Deployment/{name}: spec.template.spec.topologySpreadConstraints across nodes missing"
            )
    return problems


def least_privilege_rbac(render: Render) -> list[str]:
    problems = []
    accounts = {name_of(a) for a in of_kind(render, "ServiceAccount")}
    for role in of_kind(render, "Role", "ClusterRole"):
        if role["kind"] == "ClusterRole":
            problems.append(f"{ref(role)}: cluster-wide roles are not ours to grant")
        for index, rule in enumerate(role.get("rules") or []):
            if "*" in (rule.get("verbs") or []) or "*" in (rule.get("resources") or []):
                problems.append(f"{ref(role)}: rules[{index}] uses a wildcard")
            if set(rule.get("verbs") or []) - {"get", "list", "watch"}:
                problems.append(f"{ref(role)}: rules[{index}] grants more than get/list/watch")
            if {"secrets", "pods/exec", "pods/attach", "pods/portforward"} & set(rule.get("resources") or []):
                problems.append(f"{ref(role)}: rules[{index}] reaches secrets or into pods")
    for binding in of_kind(render, "RoleBinding", "ClusterRoleBinding"):
        for subject in binding.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount" and subject.get("name") in accounts:
                problems.append(
                    f"{ref(binding)}: binds workload account {subject.get('name')}, which needs no API"
                )
    return problems


def llama_fetches_its_model(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """llama's init step is the one writer of the models claim and fetches the pinned model; the
    server mounts the claim read-only; path, URL and sha256 are those of noa_ops/models.py."""
    problems = []
    llama = find(render, "Deployment", "llama")
    if llama is None:
        return ["Deployment/llama: missing"]
    where = ref(llama)
    spec = pod_template(llama)["spec"]
    config = next(
        (c for c in of_kind(render, "ConfigMap") if name_of(c).startswith(f"{LLAMA_MODEL_CONFIG}-")), None
    )
    data = (config or {}).get("data") or {}
    pins = {
        "MODEL_PATH": models.DEFAULT_MODEL_PATH,
        "MODEL_URL": models.DEFAULT_MODEL_URL,
        "MODEL_SHA256": models.DEFAULT_MODEL.sha256,
    }
    if config is None:
        problems.append(f"ConfigMap/{LLAMA_MODEL_CONFIG}: missing")
    for key, pinned in pins.items():
        if config is not None and data.get(key) != pinned:
            problems.append(
                f"{ref(config)}: data.{key} {data.get(key)!r} is not noa_ops/models.py's pin {pinned!r}"
            )
    claim_volumes = {
        v["name"] for v in spec.get("volumes") or []
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == LLAMA_MODELS_CLAIM
    }
    if not claim_volumes:
        problems.append(f"{where}: no volume of claim {LLAMA_MODELS_CLAIM}")
    writers = [
        path
        for path, container in containers(spec)
        for mount in container.get("volumeMounts") or []
        if mount["name"] in claim_volumes and mount.get("readOnly") is not True
    ]
    init_containers = spec.get("initContainers") or []
    index = next((i for i, c in enumerate(init_containers) if c.get("name") == MODEL_FETCHER), None)
    fetcher_path = f"spec.template.spec.initContainers[{index}]({MODEL_FETCHER})"
    if index is None or writers != [fetcher_path]:
        problems.append(
            f"{where}: claim {LLAMA_MODELS_CLAIM} must be writable by init container {MODEL_FETCHER} "
            f"alone (writable in {writers or 'none'})"
        )
    server = (spec.get("containers") or [{}])[0]
    server_mounts = [m for m in server.get("volumeMounts") or [] if m["name"] in claim_volumes]
    if [m.get("mountPath") for m in server_mounts if m.get("readOnly") is True] != [models.MOUNT]:
        problems.append(
            f"{where}: containers[0] must mount claim {LLAMA_MODELS_CLAIM} read-only at {models.MOUNT}"
        )
    model_from = env_names(server).get("LLAMA_ARG_MODEL", {}).get("valueFrom") or {}
    model_ref = model_from.get("configMapKeyRef") or {}
    if config is None or (model_ref.get("name"), model_ref.get("key")) != (name_of(config), "MODEL_PATH"):
        problems.append(
            f"{where}: containers[0].env[LLAMA_ARG_MODEL] must come from {LLAMA_MODEL_CONFIG} MODEL_PATH"
        )
    if index is None:
        return problems
    fetcher = init_containers[index]
    if fetcher.get("image") != server.get("image"):
        problems.append(f"{where}: {fetcher_path}.image must be the server's image (its curl)")
    if config is not None and not set(pins) <= configmap_keys(render, fetcher):
        problems.append(
            f"{where}: {fetcher_path}.envFrom must hold {sorted(pins)} from {LLAMA_MODEL_CONFIG}"
        )
    writable_mounts = [
        m for m in fetcher.get("volumeMounts") or []
        if m["name"] in claim_volumes and m.get("mountPath") == models.MOUNT and m.get("readOnly") is not True
    ]
    if not writable_mounts:
        problems.append(
            f"{where}: {fetcher_path} must mount claim {LLAMA_MODELS_CLAIM} writable at {models.MOUNT}"
        )
    script = "\n".join(str(part) for part in [*(fetcher.get("command") or []), *(fetcher.get("args") or [])])
    verify, rename = script.find("sha256sum -c"), script.find('mv -f "$partial" "$MODEL_PATH"')
    if not 0 <= verify < rename or "--proto =https" not in script:
        problems.append(
            f"{where}: {fetcher_path} must download over https only, check MODEL_SHA256 (sha256sum -c) and "
            "only then rename the download to MODEL_PATH"
        )
    return problems


RULES: dict[str, Callable[[Render], list[str]]] = {
    rule.__name__: rule
    for rule in (
        pod_security_restricted,
        namespaces_enforce_restricted,
        containers_are_complete,
        probes_follow_catalogue,
        selectors_are_distinct,
        services_select_pods,
        agrees_with_catalogue,
        no_shared_read_write_once_claims,
        disruption_budgets,
        network_policies,
        ingress_matches_ui_routing,
        mounted_files_are_the_sources,
        secrets_come_from_one_source,
        environment_follows_settings_catalogue,
        environment_shape,
        least_privilege_rbac,
        llama_fetches_its_model,
    )
}
