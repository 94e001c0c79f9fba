"""Monitoring (k8s/components/monitoring): ServiceMonitors scrape exactly the services that serve
/metrics (noa_ops/catalogue.py SCRAPED) on a port their Service has, llama with its key; the
PrometheusRule is the rule file; the scrape annotations name each pod's own port; the dashboard
ConfigMap is docker/monitoring/grafana-dashboard.json. Without the component, none of them exist.
(Prometheus' NetworkPolicy edges are network_rules.network_policies'.)"""

from __future__ import annotations

from typing import Any

import yaml

from noa_ops import catalogue, k8s_monitoring

from .manifest import DASHBOARD, ROOT, Obj, Render, monitoring_enabled, name_of, of_kind, ref
from .pods import containers, long_running, pod_template

SECRET_NAME = "noa-secrets"
ANNOTATION_PREFIX = "prometheus.io/"
DASHBOARD_LABEL = ("grafana_dashboard", "1")


def _without_component(render: Render, kinds: tuple[str, ...]) -> list[str]:
    return [f"{ref(obj)}: only the monitoring component adds it" for obj in of_kind(render, *kinds)]


def _selected_services(render: Render, monitor: Obj) -> list[Obj]:
    selector = ((monitor.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return [
        service for service in of_kind(render, "Service")
        if selector and all(((service.get("metadata") or {}).get("labels") or {}).get(k) == v
                            for k, v in selector.items())
    ]


def _authorization_problems(where: str, name: str, endpoint: Obj) -> list[str]:
    key = catalogue.METRICS_KEYS.get(name)
    expected = {"type": "Bearer", "credentials": {"name": SECRET_NAME, "key": key}} if key else None
    problems = []
    if endpoint.get("authorization") != expected:
        wanted = f"{expected}" if expected else "none (its /metrics needs no key)"
        problems.append(f"{where}.authorization {endpoint.get('authorization')} must be {wanted}")
    for other in ("bearerTokenSecret", "basicAuth", "oauth2", "bearerTokenFile"):
        if other in endpoint:
            problems.append(f"{where}.{other}: credentials go in authorization alone")
    return problems


def _endpoint_problems(where: str, service: Obj, endpoint: Obj) -> list[str]:
    port_names = [port.get("name") for port in service["spec"].get("ports") or []]
    problems = []
    if endpoint.get("port") not in port_names:
        problems.append(f"{where}.port {endpoint.get('port')!r} is no port of {ref(service)} "
                        f"(it has {port_names})")
    if endpoint.get("path") != catalogue.METRICS_PATH:
        problems.append(f"{where}.path {endpoint.get('path')!r} must be {catalogue.METRICS_PATH}")
    return problems + _authorization_problems(where, name_of(service), endpoint)


def service_monitors_scrape_metrics(render: Render) -> list[str]:
    """One ServiceMonitor per scraped service, in its own namespace, on a port its Service names."""
    if not monitoring_enabled(render):
        return _without_component(render, ("ServiceMonitor",))
    problems = []
    scraped: dict[str, list[str]] = {name: [] for name in catalogue.SCRAPED}
    for monitor in of_kind(render, "ServiceMonitor"):
        spec = monitor.get("spec") or {}
        if "namespaceSelector" in spec:
            problems.append(f"{ref(monitor)}: spec.namespaceSelector reaches past its own namespace")
        services = _selected_services(render, monitor)
        if len(services) != 1:
            problems.append(f"{ref(monitor)}: spec.selector must select one Service, not "
                            f"{[ref(s) for s in services]}")
        for service in services:
            if name_of(service) not in scraped:
                problems.append(f"{ref(monitor)}: selects {ref(service)}, which serves no metrics")
                continue
            scraped[name_of(service)].append(ref(monitor))
            endpoints = spec.get("endpoints") or []
            if not endpoints:
                problems.append(f"{ref(monitor)}: spec.endpoints is empty")
            for index, endpoint in enumerate(endpoints):
                problems += _endpoint_problems(f"{ref(monitor)}: spec.endpoints[{index}]", service, endpoint)
    for name, monitors in scraped.items():
        if len(monitors) != 1:
            problems.append(f"Service/{name}: serves /metrics (catalogue SCRAPED) and needs exactly one "
                            f"ServiceMonitor, has {monitors}")
    return problems


def _first_difference(rendered: Any, source: Any) -> str:
    """The alert (or group) whose rendered rule differs from the rule file's, for the message."""
    if not (isinstance(rendered, list) and isinstance(source, list)):
        return "spec.groups"
    for group, expected in zip(rendered, source, strict=False):
        if group == expected:
            continue
        for rule, wanted in zip(group.get("rules") or [], expected.get("rules") or [], strict=False):
            if rule != wanted:
                return f"alert {wanted.get('alert')}"
        return f"group {expected.get('name')}"
    return "the number of groups"


def prometheus_rule_is_the_rule_file(render: Render) -> list[str]:
    """Exactly one PrometheusRule, its spec.groups those of docker/monitoring/alert-rules.yml."""
    if not monitoring_enabled(render):
        return _without_component(render, ("PrometheusRule",))
    rules = of_kind(render, "PrometheusRule")
    if [name_of(rule) for rule in rules] != [k8s_monitoring.RULE_NAME]:
        return [f"PrometheusRule: expected one, {k8s_monitoring.RULE_NAME}; found {[ref(r) for r in rules]}"]
    source = yaml.safe_load((ROOT / k8s_monitoring.RULE_FILE).read_text())["groups"]
    rendered = (rules[0].get("spec") or {}).get("groups")
    if rendered == source:
        return []
    return [f"{ref(rules[0])}: spec.groups differ from {k8s_monitoring.RULE_FILE} "
            f"({_first_difference(rendered, source)}); regenerate with `invoke docs`"]


def _container_ports(workload: Obj) -> set[int]:
    return {port for _, c in containers(pod_template(workload)["spec"])
            for port in (p.get("containerPort") for p in c.get("ports") or []) if port is not None}


def scrape_annotations_match_ports(render: Render) -> list[str]:
    """With the component, the pods of each scraped service that needs no key carry
    prometheus.io/scrape, port (its catalogue port, a container port) and path; no other pod does."""
    problems = []
    for workload in long_running(render):
        name = name_of(workload)
        annotations = (pod_template(workload).get("metadata") or {}).get("annotations") or {}
        found = {k: v for k, v in annotations.items() if k.startswith(ANNOTATION_PREFIX)}
        wanted = (monitoring_enabled(render) and name in catalogue.SCRAPED
                  and name not in catalogue.METRICS_KEYS)
        if not wanted:
            if found:
                problems.append(f"{ref(workload)}: spec.template.metadata.annotations {sorted(found)}: "
                                "only the monitoring component annotates, and only pods whose /metrics "
                                "needs no key")
            continue
        port = catalogue.get(name).port
        expected = {f"{ANNOTATION_PREFIX}scrape": "true", f"{ANNOTATION_PREFIX}port": str(port),
                    f"{ANNOTATION_PREFIX}path": catalogue.METRICS_PATH}
        if found != expected:
            problems.append(
                f"{ref(workload)}: spec.template.metadata.annotations {found} must be {expected}")
        if port not in _container_ports(workload):
            problems.append(f"{ref(workload)}: port {port} is no container port")
    return problems


def dashboard_is_the_source(render: Render) -> list[str]:
    """With the component, one ConfigMap labelled grafana_dashboard: "1" holding exactly
    docker/monitoring/grafana-dashboard.json; without it, none."""
    key, value = DASHBOARD_LABEL
    dashboards = [c for c in of_kind(render, "ConfigMap")
                  if ((c.get("metadata") or {}).get("labels") or {}).get(key) == value]
    if not monitoring_enabled(render):
        return [f"{ref(c)}: only the monitoring component adds a dashboard" for c in dashboards]
    if len(dashboards) != 1:
        return [f"ConfigMap: expected one labelled {key}: \"{value}\", found {[ref(c) for c in dashboards]}"]
    data = dashboards[0].get("data") or {}
    source = DASHBOARD.read_text()
    if list(data.values()) != [source]:
        return [f"{ref(dashboards[0])}: data {sorted(data)} differs from {DASHBOARD.relative_to(ROOT)}"]
    return []


# The rules of this concern, for rule_set.RULES.
RULES = (
    service_monitors_scrape_metrics, prometheus_rule_is_the_rule_file, scrape_annotations_match_ports,
    dashboard_is_the_source,
)
