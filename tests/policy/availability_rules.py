"""Availability: replicas, autoscaling, spread and GPUs as each environment wants them,
one PodDisruptionBudget per workload, and no claim mounted by two pods."""

from __future__ import annotations

from .manifest import (
    Obj,
    Render,
    find,
    match_labels,
    name_of,
    of_kind,
    ref,
    selector_matches,
    settings_config,
)
from .pods import long_running, pod_template, template_labels, workloads

# prod autoscaling (SEED_FACTS): name -> (min, max, cpu %, memory % or None)
PROD_HPAS = {"mcp": (2, 10, 70, 80), "claude-flow": (2, 8, 70, 80), "ui": (3, 15, 75, None)}
APP_DEPLOYMENTS = ("mcp", "claude-flow", "agenticos", "ui")
CPU_LLAMA = "cpu-llama"  # the component that undoes an overlay's GPU for a cluster without one


def llama_shape(llama: Obj | None, *, on_gpu: bool) -> list[str]:
    """On a GPU: the CUDA image, one nvidia.com/gpu, the GPU node selector and toleration; else none of it."""
    if llama is None:
        return []
    spec = pod_template(llama)["spec"]
    container = spec["containers"][0]
    gpu_limit = (container.get("resources") or {}).get("limits", {}).get("nvidia.com/gpu")
    gpu_request = (container.get("resources") or {}).get("requests", {}).get("nvidia.com/gpu")
    cuda = str(container.get("image", "")).startswith("noa/llama-cuda:")
    if not on_gpu:
        if gpu_limit is not None or gpu_request is not None or "cuda" in str(container.get("image")) \
                or spec.get("nodeSelector") or spec.get("tolerations"):
            return ["Deployment/llama: without a GPU it runs the CPU image, no nvidia.com/gpu, no GPU node "
                    "selector or toleration"]
        return []
    problems = []
    if gpu_limit != "1" or not cuda:
        problems.append("Deployment/llama: staging and prod run noa/llama-cuda with one nvidia.com/gpu")
    if not (spec.get("nodeSelector") and spec.get("tolerations")):
        problems.append("Deployment/llama: spec.template.spec needs the GPU nodeSelector and toleration")
    return problems


def environment_shape(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """dev: one replica, debug, no HPA, CPU llama. staging: two app replicas. prod: HPAs and spread.
    llama runs on a GPU in staging and prod, unless the variant adds the cpu-llama component."""
    problems = []
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(render, "HorizontalPodAutoscaler")}
    llama = find(render, "Deployment", "llama")
    config = settings_config(render)
    log_level = (config.get("data") or {}).get("LOG_LEVEL")
    if render.environment == "dev":
        if hpas:
            problems.append(f"HorizontalPodAutoscaler: dev has none (found {sorted(hpas)})")
        for workload in long_running(render):
            if workload["spec"].get("replicas") != 1:
                problems.append(f"{ref(workload)}: spec.replicas must be 1 in dev")
        if log_level != "debug":
            problems.append(f"ConfigMap/{name_of(config)}: data.LOG_LEVEL must be debug in dev")
        return problems + llama_shape(llama, on_gpu=False)
    problems += llama_shape(llama, on_gpu=CPU_LLAMA not in render.variant.components)
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
    for workload in long_running(render):
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


# The rules of this concern, for rule_set.RULES.
RULES = (
    environment_shape, no_shared_read_write_once_claims, disruption_budgets,
)
