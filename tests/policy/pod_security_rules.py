"""Pod security: Pod Security "restricted" on every pod and namespace, complete containers
(resources, pinned images, probes), and RBAC that grants the workloads nothing."""

from __future__ import annotations

from .manifest import Render, name_of, of_kind, ref
from .pods import RUN_TO_COMPLETION, containers, pod_template, workloads

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
            # An init container, or any container of a Job's pod, runs to completion.
            init = ".initContainers[" in path or workload["kind"] in RUN_TO_COMPLETION
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
                # Kubernetes refuses probes on an init container; a Job's would only kill it.
                if init and probe in container:
                    problems.append(f"{where}.{probe}: a container that runs to completion takes no probes")
                if not init and probe not in container:
                    problems.append(f"{where}.{probe} is missing")
                for handler in ("exec",):
                    command = ((container.get(probe) or {}).get(handler) or {}).get("command") or []
                    if any("$(" in str(part) for part in command):
                        problems.append(
                            f"{where}.{probe}.exec.command uses $(VAR), which exec probes never expand"
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


# The rules of this concern, for rule_set.RULES.
RULES = (
    pod_security_restricted, namespaces_enforce_restricted, containers_are_complete,
    least_privilege_rbac,
)
