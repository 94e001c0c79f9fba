"""Network: Services and their selectors reach exactly the pods meant, NetworkPolicies allow
exactly the edges the catalogues name, and the Ingress enters through the ui's nginx."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from noa_common import env_catalogue
from noa_ops import catalogue

from .manifest import (
    DASHBOARD,
    NGINX_CONF,
    ROOT,
    Obj,
    Render,
    match_labels,
    monitoring_enabled,
    name_of,
    of_kind,
    ref,
    selector_matches,
    settings_config,
)
from .pods import (
    RUN_TO_COMPLETION,
    WORKLOAD_KINDS,
    containers,
    named_port,
    pod_template,
    template_labels,
    workloads,
)

INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"
# Pods of other namespaces let in, as (namespace, their app.kubernetes.io/name): the ingress
# controller (to ui) and, with the monitoring component, Prometheus (to each scraped service).
INGRESS_CONTROLLER = (INGRESS_CONTROLLER_NAMESPACE, "ingress-nginx")
# Prometheus scrapes each pod on its metrics port (catalogue.kubernetes_scrape_ports): the service's
# own, or in postgres's and redis's pods their exporter sidecar's; never the store's own port.
PROMETHEUS = ("monitoring", "prometheus")
# Egress out of the cluster, (pod, TCP port): llama's init step downloads MODEL_URL over https.
# Only to public addresses: each such ipBlock must except at least these ranges (the cluster's,
# the nodes', carrier-grade NAT and the link-local cloud metadata address).
INTERNET_EGRESS = {("llama", 443)}
PRIVATE_RANGES = {"10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"}


DASHBOARD_FILES = ROOT / "services/ui/html"
# What the kubelet and Prometheus read on a service's own port; never through the Ingress.
METRICS_PATH = catalogue.METRICS_PATH


def nginx_api_routes(text: str) -> dict[str, tuple[str, int]]:
    """`location /api/<x>/ { ... proxy_pass http://<host>:<port>/; }` -> {"/api/<x>": (host, port)}."""
    routes = {}
    for match in re.finditer(r"location (/api/[^/\s]+)/ \{(.*?)\n\s*\}", text, flags=re.DOTALL):
        upstream = re.search(r"proxy_pass http://([^:/\s]+):(\d+)/;", match.group(2))
        if upstream:
            routes[match.group(1)] = (upstream.group(1), int(upstream.group(2)))
    return routes


def nginx_status_routes(text: str) -> dict[str, str]:
    """`location = /status/<x> { ... proxy_pass http://<host>:<port><path>; }` -> {"/status/<x>": url};
    a location answering by itself (`return`) maps to ""."""
    routes = {}
    for match in re.finditer(r"location = (/status/[^\s]+) \{(.*?)\n\s*\}", text, flags=re.DOTALL):
        upstream = re.search(r"proxy_pass (http://\S+);", match.group(2))
        routes[match.group(1)] = upstream.group(1) if upstream else ""
    return routes


def nginx_panel_routes(text: str) -> dict[str, str]:
    """`location = /panels/<x> { ... }` -> {"/panels/<x>": its body}."""
    return {match.group(1): match.group(2) for match in
            re.finditer(r"location = (/panels/[^\s]+) \{[^\n]*\n(.*?)\n\s*\}", text, flags=re.DOTALL)}


def dashboard_queries() -> set[str]:
    """Every query of the Grafana dashboard (docker/monitoring/grafana-dashboard.json)."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {str(target["expr"]) for panel in panels for target in panel.get("targets") or []}


def nginx_refusals(text: str) -> list[re.Pattern[str]]:
    """The regex locations that answer 404 (`location ~ <re> { ... return 404 ...; }`)."""
    patterns = []
    for match in re.finditer(r"location (~\*?) (\S+) \{(.*?)\n\s*\}", text, flags=re.DOTALL):
        if re.search(r"^\s*return 404\b", match.group(3), flags=re.MULTILINE):
            patterns.append(re.compile(match.group(2), re.IGNORECASE if match.group(1) == "~*" else 0))
    return patterns


def rendered_nginx(render: Render) -> str:
    """The nginx.conf the ui pods mount (its ConfigMap), else the source it is generated from."""
    for configmap in of_kind(render, "ConfigMap"):
        if name_of(configmap).startswith("ui-nginx") and "nginx.conf" in (configmap.get("data") or {}):
            return str(configmap["data"]["nginx.conf"])
    return NGINX_CONF.read_text()


def ingress_paths(render: Render) -> dict[str, Obj]:
    """Every path of every Ingress rule, by path."""
    return {
        item["path"]: item
        for ingress in of_kind(render, "Ingress")
        for rule in ingress["spec"].get("rules") or []
        for item in (rule.get("http") or {}).get("paths") or []
    }


def routes_to(item: Obj, url: str) -> bool:
    """Whether an Ingress path sends a request for url to its backend (Exact, else as a Prefix)."""
    path = item["path"]
    if item.get("pathType") == "Exact":
        return url == path
    base = path.rstrip("/")
    return not base or url == base or url.startswith(base + "/")


def probe_paths(service: catalogue.Service) -> list[str]:
    assert service.health is not None
    return sorted({*(service.health.path(tier) for tier in catalogue.Tier), METRICS_PATH})


def selectors_are_distinct(render: Render) -> list[str]:
    """Each selector is exactly {app.kubernetes.io/name: <its service>} and matches one workload's pods."""
    problems = []
    all_workloads = workloads(render)
    for obj in [*all_workloads, *of_kind(render, "Service", "PodDisruptionBudget")]:
        selector = match_labels(obj)
        field = "spec.selector" if obj["kind"] == "Service" else "spec.selector.matchLabels"
        if obj["kind"] in WORKLOAD_KINDS and obj["kind"] not in ("Pod", *RUN_TO_COMPLETION):
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
    """Every Service selects a workload's pods, each targetPort is one of their container ports, and
    none is reachable from outside the cluster (ClusterIP only: the Ingress is the way in)."""
    problems = []
    for service in of_kind(render, "Service"):
        kind = service["spec"].get("type", "ClusterIP")
        if kind != "ClusterIP":
            problems.append(f"{ref(service)}: spec.type {kind} opens it outside the cluster; only the "
                            f"Ingress may (ClusterIP)")
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
    edges = {(service.name, dep) for service in (*catalogue.SERVICES, *catalogue.JOBS)
             for dep in service.depends_on}
    for variable in env_catalogue.VARIABLES:
        host = re.match(r"^https?://([^:/]+)", variable.default or "")
        if variable.name.endswith("_URL") and host and host.group(1) in catalogue.names():
            edges |= {(client, host.group(1)) for client in variable.services}
    return edges


def expected_outside_edges(render: Render) -> set[tuple[str, str, str]]:
    """(namespace, pod, server): the pods of other namespaces each server lets in."""
    edges = {(*INGRESS_CONTROLLER, "ui")}
    if monitoring_enabled(render):
        edges |= {(*PROMETHEUS, name) for name in catalogue.kubernetes_scrape_ports()}
    return edges


# The Prometheus port the ui's metrics view reads (PROMETHEUS_URL in the monitoring component).
PROMETHEUS_PORT = 9090


def expected_outside_egress(render: Render) -> set[tuple[str, str, str, int]]:
    """(pod, namespace, their pod, TCP port): where pods may go in other namespaces (DNS aside)."""
    return {("ui", *PROMETHEUS, PROMETHEUS_PORT)} if monitoring_enabled(render) else set()


def _outside_egress(owner: str, rule: Obj) -> set[tuple[str, str, str, int | None]]:
    ports = [port.get("port") for port in rule.get("ports") or []] or [None]
    return {(owner, namespace, pod, port) for namespace, pod in _outside_peers(rule.get("to") or [])
            for port in ports}


def _outside_egress_problems(wanted: set[tuple[str, str, str, int]],
                             found: set[tuple[str, str, str, int | None]]) -> list[str]:
    problems = [f"NetworkPolicy: no egress allow from {pod} to the {namespace} namespace's {peer} pods "
                f"on TCP {port}" for pod, namespace, peer, port in sorted(set(wanted) - found)]
    problems += [f"NetworkPolicy: {pod} may reach the {namespace} namespace's {peer} pods on "
                 f"{f'TCP {port}' if port else 'every port'}, which no need names"
                 for pod, namespace, peer, port in sorted(found - set(wanted), key=str)]
    return problems


def _outside_peers(peers: list[Obj]) -> set[tuple[str, str]]:
    """(namespace, pod) of each namespaceSelector peer ("*" where a selector does not name one)."""
    found = set()
    for peer in peers:
        if "namespaceSelector" not in peer:
            continue
        namespace = ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get(
            "kubernetes.io/metadata.name", "*")
        pod = ((peer.get("podSelector") or {}).get("matchLabels") or {}).get("app.kubernetes.io/name", "*")
        found.add((str(namespace), str(pod)))
    return found


def ingress_ports(owner: str, peers: list[Obj]) -> set[int | None]:
    """The ports an ingress rule's peers need on the owner's pods: Prometheus its metrics port
    where it scrapes them, the ingress controller and the namespace's own pods the service's port.
    Other namespaces' pods need none (network_policies names them as edges no need names)."""
    service_port = {service.name: service.port for service in catalogue.SERVICES}.get(owner)
    scrape_port = catalogue.kubernetes_scrape_ports().get(owner, service_port)
    needs = set()
    for peer in peers:
        outside = _outside_peers([peer])
        if outside == {PROMETHEUS}:
            needs.add(scrape_port)
        elif not outside or outside == {INGRESS_CONTROLLER}:
            needs.add(service_port)
    return needs


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
    outside: set[tuple[str, str, str]] = set()
    outside_egress: set[tuple[str, str, str, int | None]] = set()
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
            outside_egress |= _outside_egress(owner, rule)
            if not rule.get("to"):
                problems.append(f"{ref(policy)}: spec.egress[{index}] allows every destination")
            problems += _internet_egress(f"{ref(policy)}: spec.egress[{index}]", owner, rule, internet)
        for index, rule in enumerate(spec.get("ingress") or []):
            rule_ports = {p.get("port") for p in rule.get("ports") or []}
            needed = ingress_ports(owner, rule.get("from") or [])
            if len(needed) > 1:
                problems.append(f"{ref(policy)}: spec.ingress[{index}] admits peers that need different "
                                f"ports {sorted(needed, key=str)}: one rule per port")
            elif needed and rule_ports != needed:
                problems.append(
                    f"{ref(policy)}: spec.ingress[{index}] must allow exactly port {next(iter(needed))}"
                )
            outside |= {(namespace, pod, owner) for namespace, pod in _outside_peers(rule.get("from") or [])}
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
    problems += _outside_egress_problems(expected_outside_egress(render), outside_egress)
    expected_outside = expected_outside_edges(render)
    for namespace, pod, server in sorted(expected_outside - outside):
        problems.append(
            f"NetworkPolicy: no ingress allow from the {namespace} namespace's {pod} pods to {server}")
    for namespace, pod, server in sorted(outside - expected_outside):
        problems.append(f"NetworkPolicy: the {namespace} namespace's {pod} pods may reach {server}, "
                        "which no need names")
    return problems


def ingress_matches_ui_routing(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """TLS through cert-manager, a class, and paths that the ui's nginx serves: /api/<service> (prefix
    stripped), /status (each service's readiness) and the dashboard's files, Exact."""
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
    nginx = rendered_nginx(render)
    routes = nginx_api_routes(nginx)
    paths = ingress_paths(render)
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
        problems += _path_is_served(where, path, item, routes)
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


def _path_is_served(where: str, path: str, item: Obj, routes: dict[str, tuple[str, int]]) -> list[str]:
    """An /api path nginx proxies, /status, or one of the dashboard's files by its Exact path."""
    if path.startswith("/api/"):
        missing = f"{where}: path {path} has no `location {path}/` in the ui's nginx.conf"
        return [] if path in routes else [missing]
    if path in ("/status", "/panels"):
        return [] if item.get("pathType") == "Prefix" else [f"{where}: path {path} must be a Prefix"]
    if item.get("pathType") != "Exact":
        return [f"{where}: path {path} ({item.get('pathType')}) routes more than the dashboard's files; "
                "use Exact paths"]
    if path != "/" and not (DASHBOARD_FILES / path.lstrip("/")).is_file():
        return [f"{where}: path {path} is not a file of services/ui/html"]
    return []


def ingress_reaches_no_probe(render: Render) -> list[str]:
    """No Ingress path reaches a health or metrics path: not ui's own, and for /api/<service>/<probe>
    the ui's nginx answers 404 itself. /status/<service> reads exactly that service's readiness."""
    problems = []
    nginx = rendered_nginx(render)
    refusals = nginx_refusals(nginx)
    paths = ingress_paths(render)
    services = [s for s in catalogue.stack_services() if s.is_http]
    for service in services:
        for probe in probe_paths(service):
            for url in ([probe] if service.name == "ui" else []) + [f"/api/{service.name}{probe}"]:
                reaching = [path for path, item in paths.items() if routes_to(item, url)]
                if not reaching:
                    continue
                if url.startswith("/api/") and any(pattern.match(url) for pattern in refusals):
                    continue
                problems.append(
                    f"Ingress/noa-server: path {reaching[0]} ({paths[reaching[0]].get('pathType')}) "
                    f"reaches {service.name}'s {probe} as {url}; probes are for the kubelet and Prometheus"
                )
    status_routes = nginx_status_routes(nginx)
    for service in services:
        if f"/status/{service.name}" not in status_routes:
            problems.append(f"ui nginx.conf: no `location = /status/{service.name}` for the dashboard")
    for location, upstream in status_routes.items():
        name = location.removeprefix("/status/")
        if name not in catalogue.names() or not catalogue.get(name).is_http:
            problems.append(f"ui nginx.conf: {location} names no HTTP service of the catalogue")
            continue
        service = catalogue.get(name)
        assert service.health is not None
        expected = "" if name == "ui" else f"http://{name}:{service.port}{service.health.ready}"
        if upstream != expected:
            problems.append(
                f"ui nginx.conf: {location} proxies to {upstream or 'nothing'}; it must read "
                f"{expected or 'nothing (ui answers itself)'}"
            )
    return problems


# Where a /panels/ location sends its query: Prometheus' instant-query API (PROMETHEUS_URL).
PANEL_UPSTREAM = "$prometheus_url/api/v1/query?query="


def _panel_problems(location: str, body: str, queries: set[str]) -> list[str]:
    where = f"ui nginx.conf: {location}"
    problems = [] if re.search(r"limit_except GET \{ deny all; \}", body) else [f"{where} must be GET only"]
    upstream = re.search(r"proxy_pass (\S+);", body)
    query = upstream.group(1) if upstream else ""
    if not query.startswith(PANEL_UPSTREAM) or "$" in query.removeprefix(PANEL_UPSTREAM):
        problems.append(f"{where} proxies to {query or 'nothing'}; it must send one fixed query to "
                        f"{PANEL_UPSTREAM}<query>, nothing of the caller's request")
    elif unquote(query.removeprefix(PANEL_UPSTREAM)) not in queries:
        problems.append(f"{where} queries {unquote(query.removeprefix(PANEL_UPSTREAM))!r}, "
                        "which is no query of the Grafana dashboard")
    return problems


def panels_read_dashboard_queries(render: Render) -> list[str]:
    """Each /panels/<name> of the ui's nginx (the dashboard's metrics view, anonymous like /status)
    sends one query of the Grafana dashboard to Prometheus' query API, GET only: the caller's
    query string never reaches Prometheus."""
    problems = _prometheus_url_problems(render)
    panels = nginx_panel_routes(rendered_nginx(render))
    if not panels:
        return ["ui nginx.conf: no `location = /panels/<name>` for the dashboard's metrics view"]
    queries = dashboard_queries()
    return problems + [problem for location, body in panels.items()
                       for problem in _panel_problems(location, body, queries)]


def _prometheus_url_problems(render: Render) -> list[str]:
    """With the monitoring component, PROMETHEUS_URL names a Service of the monitoring namespace by
    its full name (nginx resolves no search domains) on the port the ui's egress allows."""
    if not monitoring_enabled(render):
        return []
    config = settings_config(render)
    url = str((config.get("data") or {}).get("PROMETHEUS_URL", ""))
    namespace, _ = PROMETHEUS
    if re.fullmatch(rf"http://[a-z0-9-]+\.{namespace}\.svc\.cluster\.local:{PROMETHEUS_PORT}", url):
        return []
    return [f"ConfigMap/noa-config: PROMETHEUS_URL {url or '(unset)'} must be "
            f"http://<service>.{namespace}.svc.cluster.local:{PROMETHEUS_PORT}"]


# The rules of this concern, for rule_set.RULES.
RULES = (
    selectors_are_distinct, services_select_pods, network_policies, ingress_matches_ui_routing,
    ingress_reaches_no_probe, panels_read_dashboard_queries,
)
