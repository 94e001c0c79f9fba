"""A rendered variant (`Render`), its objects and their selectors; the repository files it carries.

The policy rules (rule_set.py lists them, by concern) each take one Render and return its
violations, one line each, naming the object (`Kind/name`) and the field. pods.py reads the
workloads' pods and containers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noa_ops.k8s_render import Variant

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
# The repository files the renders carry unchanged (catalogue_rules, network_rules, test_sources.py).
NGINX_CONF = ROOT / "services/ui/nginx.conf"
INIT_SQL = ROOT / "docker/init-db.sql"
DASHBOARD = ROOT / "docker/monitoring/grafana-dashboard.json"
# The exporters' environment, which the monitoring component's sidecars copy (monitoring_rules).
COMPOSE_FILE = ROOT / "docker/docker-compose.yml"
# The component that adds ServiceMonitors, the PrometheusRule and Prometheus' way in.
MONITORING_COMPONENT = "monitoring"


@dataclass
class Render:
    variant: Variant
    objects: list[Obj]

    @property
    def environment(self) -> str:
        return self.variant.overlay


Rule = Callable[[Render], list[str]]


def monitoring_enabled(render: Render) -> bool:
    return MONITORING_COMPONENT in render.variant.components


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


def settings_config(render: Render) -> Obj:
    """The noa-config ConfigMap (its name carries kustomize's hash), or {} when there is none."""
    return next((c for c in of_kind(render, "ConfigMap") if name_of(c).startswith("noa-config")), {})


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def match_labels(obj: Obj) -> dict[str, str]:
    selector = (obj.get("spec") or {}).get("selector") or {}
    if obj["kind"] == "Service":
        return dict(selector)
    return dict(selector.get("matchLabels") or {})
