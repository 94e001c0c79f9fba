"""Monitoring (k8s/components/monitoring): ServiceMonitors scrape exactly the services that serve
/metrics (noa_ops/catalogue.py SCRAPED) and the exporters (EXPORTERS) on a port their Service has,
llama with its key; each exporter is a sidecar of its store, configured as compose configures it,
its password from the Secret; the PrometheusRule is the rule file; the scrape annotations name each
pod's metrics port; the dashboard ConfigMap is docker/monitoring/grafana-dashboard.json. Without the
component, none of them exist. (Prometheus' NetworkPolicy edges are network_rules.network_policies';
the exporters' probes catalogue_rules.probes_follow_catalogue's.)"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from noa_common import env_catalogue
from noa_ops import catalogue, k8s_monitoring

from .manifest import (
    COMPOSE_FILE,
    DASHBOARD,
    ROOT,
    Obj,
    Render,
    find,
    match_labels,
    monitoring_enabled,
    name_of,
    of_kind,
    ref,
)
from .pods import containers, env_names, long_running, pod_template, workloads

SECRET_NAME = "noa-secrets"
ANNOTATION_PREFIX = "prometheus.io/"
DASHBOARD_LABEL = ("grafana_dashboard", "1")
# An exporter's sidecar reaches its store here, inside the pod; its container port is named so.
LOOPBACK = "127.0.0.1"
METRICS_PORT_NAME = "metrics"
# user:password@ in a URL: a DSN that carries its password.
_URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]*@")
_INTERPOLATED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


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
    scraped: dict[str, list[str]] = {name: [] for name in (*catalogue.SCRAPED, *_exporter_names())}
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
            where = "EXPORTERS" if name in _exporter_names() else "SCRAPED"
            problems.append(f"Service/{name}: serves /metrics (catalogue {where}) and needs exactly one "
                            f"ServiceMonitor, has {monitors}")
    return problems


def _exporter_names() -> list[str]:
    return [exporter.name for exporter in catalogue.EXPORTERS]


@cache
def compose_environment(service: str) -> dict[str, str]:
    """The environment docker/docker-compose.yml gives a service, as written (${...} uninterpolated)."""
    definition = yaml.safe_load(COMPOSE_FILE.read_text())["services"][service]
    return {name: str(value) for name, value in (definition.get("environment") or {}).items()}


def _secret_of(value: str) -> str | None:
    """The secret setting a compose value interpolates, if it does."""
    secrets = {item.name for item in env_catalogue.VARIABLES if item.secret}
    return next((name for name in _INTERPOLATED.findall(value) if name in secrets), None)


def _env_problems(where: str, exporter: catalogue.Exporter, container: Obj) -> list[str]:
    """The sidecar's environment is its compose service's: each secret from noa-secrets by reference,
    the store's address on the loopback, nothing else but settings from a ConfigMap."""
    problems = []
    env = env_names(container)
    store_port = catalogue.get(exporter.reads).port
    compose = compose_environment(exporter.name)
    for name, value in compose.items():
        item = env.get(name)
        secret = _secret_of(value)
        if item is None:
            problems.append(f"{where}.env[{name}] is missing (compose gives {exporter.name} {name})")
        elif secret is not None:
            wanted = {"name": SECRET_NAME, "key": secret}
            found = (item.get("valueFrom") or {}).get("secretKeyRef")
            if "value" in item or found != wanted:
                problems.append(f"{where}.env[{name}] must come from a secretKeyRef {wanted} "
                                f"(compose reads it from {secret}), not {item.get('value', found)!r}")
        elif f"{exporter.reads}:{store_port}" in value and f"{LOOPBACK}:{store_port}" not in str(
                item.get("value", "")):
            problems.append(f"{where}.env[{name}] {item.get('value')!r} must reach {exporter.reads} on "
                            f"{LOOPBACK}:{store_port}, inside its pod")
    for name, item in env.items():
        if name not in compose and "configMapKeyRef" not in (item.get("valueFrom") or {}):
            problems.append(f"{where}.env[{name}]: compose gives {exporter.name} no such variable (only "
                            f"settings from a ConfigMap may be added)")
        if _URL_WITH_PASSWORD.search(str(item.get("value", ""))):
            problems.append(f"{where}.env[{name}]: a URL with a password in the manifest")
    return problems


def _sidecar_problems(render: Render, exporter: catalogue.Exporter) -> list[str]:
    store = find(render, "StatefulSet", exporter.reads)
    if store is None:
        return [f"StatefulSet/{exporter.reads}: missing (it carries {exporter.name})"]
    pod = pod_template(store)["spec"]
    found = [(path, c) for path, c in containers(pod) if c.get("name") == exporter.name]
    if len(found) != 1 or ".containers[" not in found[0][0]:
        return [f"{ref(store)}: needs exactly one container {exporter.name} in spec.template.spec.containers "
                f"(found {[path for path, _ in found]})"]
    path, container = found[0]
    where = f"{ref(store)}: {path}"
    problems = []
    if (pod.get("containers") or [{}])[0].get("name") != exporter.reads:
        problems.append(f"{ref(store)}: spec.template.spec.containers[0] must stay {exporter.reads}")
    image = str(container.get("image", "")).partition("@")[0].rpartition(":")[0]
    if image != f"noa/{exporter.service.target}":
        problems.append(f"{where}.image {container.get('image')!r} is not built from target "
                        f"{exporter.service.target}")
    ports = [(p.get("name"), p.get("containerPort")) for p in container.get("ports") or []]
    if ports != [(METRICS_PORT_NAME, exporter.port)]:
        problems.append(f"{where}.ports {ports} must be [({METRICS_PORT_NAME!r}, {exporter.port})]")
    for field in ("command", "args"):
        if field in container:
            problems.append(f"{where}.{field}: the exporter runs its image's command (an argument is where "
                            "a password would show)")
    if container.get("volumeMounts") or container.get("envFrom"):
        problems.append(f"{where}: mounts nothing and takes no envFrom (the store's volumes hold its data "
                        "and every login's password)")
    return problems + _env_problems(where, exporter, container)


def _exporter_service_problems(render: Render, exporter: catalogue.Exporter) -> list[str]:
    service = find(render, "Service", exporter.name)
    if service is None:
        return [f"Service/{exporter.name}: missing (its ServiceMonitor scrapes the sidecar through it)"]
    problems = []
    wanted = {"app.kubernetes.io/name": exporter.reads}
    if match_labels(service) != wanted:
        problems.append(f"{ref(service)}: spec.selector {match_labels(service)} must be {wanted}, the pods "
                        "its sidecar runs in")
    ports = [(p.get("port"), p.get("targetPort")) for p in service["spec"].get("ports") or []]
    if ports != [(exporter.port, METRICS_PORT_NAME)]:
        problems.append(f"{ref(service)}: spec.ports {ports} must be [({exporter.port}, "
                        f"{METRICS_PORT_NAME!r})]")
    return problems


def exporters_are_sidecars_of_their_stores(render: Render) -> list[str]:
    """With the component, each exporter (catalogue EXPORTERS) is one sidecar of the StatefulSet of
    the store it reads: its image, its metrics port, its image's command, its compose environment
    (the store on 127.0.0.1, the password from noa-secrets by reference, no URL with a password),
    no mounts; and a Service of its name selects the store's pods on that port. Without the
    component, no exporter container or Service exists."""
    names = _exporter_names()
    if not monitoring_enabled(render):
        problems = [f"{ref(w)}: {path}: only the monitoring component runs an exporter"
                    for w in workloads(render) for path, c in containers(pod_template(w)["spec"])
                    if c.get("name") in names]
        return problems + [f"{ref(s)}: only the monitoring component adds it"
                           for s in of_kind(render, "Service") if name_of(s) in names]
    problems = []
    for workload in workloads(render):
        for path, container in containers(pod_template(workload)["spec"]):
            exporter = catalogue.exporter_named(str(container.get("name")))
            if exporter and (workload["kind"], name_of(workload)) != ("StatefulSet", exporter.reads):
                problems.append(f"{ref(workload)}: {path}: {exporter.name} runs beside {exporter.reads} only")
    for exporter in catalogue.EXPORTERS:
        problems += _sidecar_problems(render, exporter) + _exporter_service_problems(render, exporter)
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
    """With the component, the pods Prometheus scrapes without a key carry prometheus.io/scrape, port
    (their metrics port: the service's own, or its exporter sidecar's; a container port) and path;
    no other pod does."""
    problems = []
    scrape_ports = catalogue.kubernetes_scrape_ports()
    for workload in long_running(render):
        name = name_of(workload)
        annotations = (pod_template(workload).get("metadata") or {}).get("annotations") or {}
        found = {k: v for k, v in annotations.items() if k.startswith(ANNOTATION_PREFIX)}
        wanted = (monitoring_enabled(render) and name in scrape_ports
                  and name not in catalogue.METRICS_KEYS)
        if not wanted:
            if found:
                problems.append(f"{ref(workload)}: spec.template.metadata.annotations {sorted(found)}: "
                                "only the monitoring component annotates, and only pods whose /metrics "
                                "needs no key")
            continue
        port = scrape_ports[name]
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
    service_monitors_scrape_metrics, exporters_are_sidecars_of_their_stores, prometheus_rule_is_the_rule_file,
    scrape_annotations_match_ports, dashboard_is_the_source,
)
