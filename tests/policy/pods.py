"""The workloads of a render, the pods they create, and their containers' env, ConfigMaps and ports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .manifest import Obj, Render, find, of_kind

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


def pod_template(obj: Obj) -> Obj:
    """The pod (metadata + spec) a workload creates."""
    if obj["kind"] == "Pod":
        return obj
    if obj["kind"] == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"])
    return dict(obj["spec"]["template"])


# Their pods run to completion: no probes, no replicas, no disruption budget, no selector to write.
RUN_TO_COMPLETION = ("Job", "CronJob")


def workloads(render: Render) -> list[Obj]:
    return of_kind(render, *WORKLOAD_KINDS)


def long_running(render: Render) -> list[Obj]:
    """The workloads whose pods serve until replaced (all but Jobs and CronJobs)."""
    return [w for w in workloads(render) if w["kind"] not in RUN_TO_COMPLETION]


def containers(pod_spec: Obj) -> Iterator[tuple[str, Obj]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(pod_spec.get(key) or []):
            yield f"spec.template.spec.{key}[{index}]({container.get('name')})", container


def template_labels(obj: Obj) -> dict[str, str]:
    return dict((pod_template(obj).get("metadata") or {}).get("labels") or {})


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


def named_port(container: Obj, port: Any) -> int | None:
    if isinstance(port, int):
        return port
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item["containerPort"])
    return None
