"""Each check of `nox -s validate` catches the defect it exists for.

A broken copy of a good render (or of the k8s tree itself) goes in; the check must fail and name
the object and the field. Most defects are the ones UPSTREAM_DEFECTS.md measured in the earlier
design. (checkov's own seeded defect runs in the validate-checkov nox session: it lives in
another venv.)
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from noa_ops import catalogue, k8s_render, k8s_validate

from . import rule_set
from .manifest import ROOT, Obj, Render, find, of_kind
from .pods import pod_template
from .rule_set import RULES


def _obj(render: Render, kind: str, name: str) -> Obj:
    found = find(render, kind, name)
    assert found is not None, f"{kind}/{name} missing from {render.variant.name}"
    return found


def _container(render: Render, kind: str, name: str) -> Obj:
    container: Obj = pod_template(_obj(render, kind, name))["spec"]["containers"][0]
    return container


def drop_pod_seccomp(render: Render) -> None:
    del pod_template(_obj(render, "StatefulSet", "postgres"))["spec"]["securityContext"]["seccompProfile"]


def low_uid(render: Render) -> None:
    pod_template(_obj(render, "Deployment", "mcp"))["spec"]["securityContext"]["runAsUser"] = 999


def token_mounted(render: Render) -> None:
    pod_template(_obj(render, "Deployment", "ui"))["spec"]["automountServiceAccountToken"] = True


def writable_root(render: Render) -> None:
    _container(render, "StatefulSet", "redis")["securityContext"]["readOnlyRootFilesystem"] = False


def privilege_escalation(render: Render) -> None:
    del _container(render, "Deployment", "agenticos")["securityContext"]["allowPrivilegeEscalation"]


def selector_clash(render: Render) -> None:
    # What `commonLabels: {app: noa-server}` did: one selector for every workload.
    for kind in ("Deployment", "StatefulSet"):
        for name in ("mcp", "agenticos", "postgres"):
            workload = find(render, kind, name)
            if workload is not None:
                workload["spec"]["selector"]["matchLabels"] = {"app": "noa-server"}
                pod_template(workload)["metadata"]["labels"]["app"] = "noa-server"


def service_selects_nothing(render: Render) -> None:
    _obj(render, "Service", "redis")["spec"]["selector"] = {"app.kubernetes.io/name": "rediss"}


def wrong_probe_path(render: Render) -> None:
    _container(render, "Deployment", "mcp")["readinessProbe"]["httpGet"]["path"] = "/ready"


def startup_probe_without_its_timeout(render: Render) -> None:
    """Kubernetes would then wait 1 s (its default) for an answer the readiness probe gives 3 s."""
    del _container(render, "Deployment", "claude-flow")["startupProbe"]["timeoutSeconds"]


def probe_on_unserved_path(render: Render) -> None:
    _container(render, "Deployment", "llama")["livenessProbe"]["httpGet"]["path"] = "/health/ready"


def exec_probe_with_variable(render: Render) -> None:
    _container(render, "StatefulSet", "postgres")["readinessProbe"]["exec"]["command"] = [
        "pg_isready",
        "-U",
        "$(POSTGRES_USER)",
    ]


def missing_limits(render: Render) -> None:
    del _container(render, "Deployment", "claude-flow")["resources"]["limits"]["ephemeral-storage"]


def latest_image(render: Render) -> None:
    container = _container(render, "Deployment", "ui")
    container["image"] = "noa/ui:latest"
    container["imagePullPolicy"] = "IfNotPresent"


def wrong_service_port(render: Render) -> None:
    _obj(render, "Service", "mcp")["spec"]["ports"][0]["port"] = 8000


def replicas_under_hpa(render: Render) -> None:
    _obj(render, "Deployment", "mcp")["spec"]["replicas"] = 2


def shared_rwo_claim(render: Render) -> None:
    _obj(render, "Deployment", "llama")["spec"]["replicas"] = 2


def postgres_as_deployment(render: Render) -> None:
    _obj(render, "StatefulSet", "postgres")["kind"] = "Deployment"


def committed_secret(render: Render) -> None:
    render.objects.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "noa-secrets", "namespace": "noa-server-prod"},
            "stringData": {"POSTGRES_PASSWORD": "changeme"},
        }
    )


def missing_dependency_edge(render: Render) -> None:
    render.objects.remove(_obj(render, "NetworkPolicy", "allow-redis"))


def _ui_to_prometheus(render: Render) -> Obj:
    return _obj(render, "NetworkPolicy", "allow-ui-to-prometheus")["spec"]["egress"][0]


def ui_cut_off_from_prometheus(render: Render) -> None:
    render.objects.remove(_obj(render, "NetworkPolicy", "allow-ui-to-prometheus"))


def ui_to_every_monitoring_pod(render: Render) -> None:
    del _ui_to_prometheus(render)["to"][0]["podSelector"]


def ui_to_prometheus_on_another_port(render: Render) -> None:
    _ui_to_prometheus(render)["ports"][0]["port"] = 9091


def prometheus_by_short_name(render: Render) -> None:
    config = next(o for o in of_kind(render, "ConfigMap") if o["metadata"]["name"].startswith("noa-config"))
    config["data"]["PROMETHEUS_URL"] = "http://prometheus-operated.monitoring:9090"


def no_default_deny(render: Render) -> None:
    render.objects.remove(_obj(render, "NetworkPolicy", "default-deny"))


def ingress_keeps_prefix(render: Render) -> None:
    ingress = _obj(render, "Ingress", "noa-server")
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    path["backend"]["service"] = {"name": "mcp", "port": {"number": 8001}}
    ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"] = "nginx"


def seed_routes(render: Render) -> None:
    ingress = _obj(render, "Ingress", "noa-server")
    ingress["spec"]["rules"][0]["http"]["paths"][1]["path"] = "/api/flow"


def _ingress_path(render: Render, path: str) -> Obj:
    paths = _obj(render, "Ingress", "noa-server")["spec"]["rules"][0]["http"]["paths"]
    return next(item for item in paths if item["path"] == path)


def dashboard_as_prefix(render: Render) -> None:
    _ingress_path(render, "/")["pathType"] = "Prefix"


def dashboard_file_as_prefix(render: Render) -> None:
    _ingress_path(render, "/dashboard.js")["pathType"] = "Prefix"


def ui_readiness_routed(render: Render) -> None:
    paths = _obj(render, "Ingress", "noa-server")["spec"]["rules"][0]["http"]["paths"]
    paths.append({**copy.deepcopy(_ingress_path(render, "/")), "path": "/health/ready"})


def _edit_nginx(render: Render, old: str, new: str) -> None:
    configmap = next(o for o in render.objects
                     if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("ui-nginx"))
    assert old in configmap["data"]["nginx.conf"]
    configmap["data"]["nginx.conf"] = configmap["data"]["nginx.conf"].replace(old, new)


def api_health_passed_through(render: Render) -> None:
    # The refusal covers metrics only, as it once did: /api/<service>/health* reaches the service.
    _edit_nginx(render, "^/api/[^/]+/(health|metrics)", "^/api/[^/]+/metrics")


def status_reads_metrics(render: Render) -> None:
    _edit_nginx(render, "proxy_pass http://mcp:8001/health/ready;", "proxy_pass http://mcp:8001/metrics;")


def panel_passes_the_callers_query(render: Render) -> None:
    _edit_nginx(render, "api/v1/query?query=up;", "api/v1/query?query=$arg_query;")


def panel_narrows_a_dashboard_query(render: Render) -> None:
    # A near miss: the dashboard's `up`, narrowed to one job, is no query of the dashboard.
    _edit_nginx(render, "api/v1/query?query=up;", "api/v1/query?query=up%7Bjob%3D%22mcp%22%7D;")


def panel_takes_posts(render: Render) -> None:
    old = "location = /panels/up {  # Service up\n            limit_except GET { deny all; }\n"
    _edit_nginx(render, old, "location = /panels/up {  # Service up\n")


def unmounted_nginx_config(render: Render) -> None:
    container = _container(render, "Deployment", "ui")
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "nginx-conf"]


def schema_without_tables(render: Render) -> None:
    configmap = next(
        o
        for o in render.objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("postgres-init")
    )
    configmap["data"]["init-db.sql"] = 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";\n'


def no_pdb(render: Render) -> None:
    render.objects.remove(_obj(render, "PodDisruptionBudget", "redis"))


def pdb_min_available(render: Render) -> None:
    spec = _obj(render, "PodDisruptionBudget", "ui")["spec"]
    del spec["maxUnavailable"]
    spec["minAvailable"] = 1


def _template(render: Render) -> Obj:
    data: Obj = _obj(render, "ExternalSecret", "noa-secrets")["spec"]["target"]["template"]["data"]
    return data


def api_clients_hash_the_wrong_key(render: Render) -> None:
    """The near miss: claude-flow's entry hashes llama's key (a valid template, the wrong digest)."""
    data = _template(render)
    data["API_CLIENTS"] = data["API_CLIENTS"].replace(".CLAUDE_FLOW_API_KEY |", ".LLAMA_API_KEY |")


def operator_key_stored_in_the_cluster(render: Render) -> None:
    _template(render)["OPERATOR_API_KEY"] = "{{ .OPERATOR_API_KEY }}"


def missing_secret_env(render: Render) -> None:
    container = _container(render, "Deployment", "agenticos")
    container["env"] = [e for e in container["env"] if e["name"] != "AGENTICOS_REDIS_PASSWORD"]


def role_password_not_mounted(render: Render) -> None:
    """postgres would refuse to start: one app role's password never reaches it."""
    container = _container(render, "StatefulSet", "postgres")
    container["env"] = [e for e in container["env"] if e["name"] != "CLAUDE_FLOW_POSTGRES_PASSWORD_FILE"]


def optional_setting_dropped(render: Render) -> None:
    """The near miss of a missing required setting: an optional one (it has a default) with no way in."""
    for configmap in of_kind(render, "ConfigMap"):
        (configmap.get("data") or {}).pop("RATE_LIMIT_MAX", None)


def service_type(kind: str) -> Callable[[Render], None]:
    def mutate(render: Render) -> None:
        service = find(render, "Service", "mcp")
        assert service is not None
        service["spec"]["type"] = kind

    return mutate


def _hard_code(render: Render, deployment: str, variable: str, value: str) -> None:
    """Replace a variable's valueFrom (a Secret or ConfigMap reference) by a literal value."""
    for item in _container(render, "Deployment", deployment)["env"]:
        if item["name"] == variable:
            item.pop("valueFrom")
            item["value"] = value


def llama_setting_hard_coded(render: Render) -> None:
    _hard_code(render, "llama", "LLAMA_ARG_THREADS", "2")


def literal_secret_env(render: Render) -> None:
    _hard_code(render, "mcp", "MCP_POSTGRES_PASSWORD", "changeme")


def namespace_not_enforcing(render: Render) -> None:
    _obj(render, "Namespace", "noa-server-prod")["metadata"]["labels"].pop(
        "pod-security.kubernetes.io/enforce"
    )


def wildcard_role(render: Render) -> None:
    _obj(render, "Role", "noa-observer")["rules"][0]["verbs"] = ["*"]


def gpu_missing(render: Render) -> None:
    _container(render, "Deployment", "llama")["image"] = "noa/llama:dev"


def gpu_left_behind(render: Render) -> None:
    _container(render, "Deployment", "llama")["resources"]["limits"]["nvidia.com/gpu"] = "1"


def gpu_node_selector_left_behind(render: Render) -> None:
    _llama_spec(render)["nodeSelector"] = {"nvidia.com/gpu.present": "true"}


def _llama_spec(render: Render) -> Obj:
    spec: Obj = pod_template(_obj(render, "Deployment", "llama"))["spec"]
    return spec


def _llama_model_config(render: Render) -> Obj:
    return next(
        o for o in render.objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("llama-model-")
    )


def server_writes_models(render: Render) -> None:
    for mount in _container(render, "Deployment", "llama")["volumeMounts"]:
        if mount["name"] == "models":
            del mount["readOnly"]


def no_model_fetcher(render: Render) -> None:
    del _llama_spec(render)["initContainers"]


def model_sha256_drifts(render: Render) -> None:
    _llama_model_config(render)["data"]["MODEL_SHA256"] = "0" * 64


def model_url_drifts(render: Render) -> None:
    _llama_model_config(render)["data"]["MODEL_URL"] = "https://example.org/gemma-3-270m-q4_k_m.gguf"


def rename_before_verify(render: Render) -> None:
    fetcher = _llama_spec(render)["initContainers"][0]
    fetcher["args"] = [fetcher["args"][0].replace("sha256sum -c", "true")]


def init_container_probed(render: Render) -> None:
    _llama_spec(render)["initContainers"][0]["livenessProbe"] = {"exec": {"command": ["true"]}}


def _backup_pod(render: Render) -> Obj:
    return pod_template(_obj(render, "CronJob", "postgres-backup"))


def backup_runs_another_image(render: Render) -> None:
    _backup_pod(render)["spec"]["containers"][0]["image"] = "noa/mcp:dev"


def backup_borrows_postgres_account(render: Render) -> None:
    # The near miss: the right image, but the ServiceAccount of the pod it backs up.
    _backup_pod(render)["spec"]["serviceAccountName"] = "postgres"


def backup_probed(render: Render) -> None:
    _backup_pod(render)["spec"]["containers"][0]["livenessProbe"] = {"exec": {"command": ["true"]}}


def backup_reaches_redis(render: Render) -> None:
    _obj(render, "NetworkPolicy", "allow-postgres-backup")["spec"]["egress"].append(
        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}}],
         "ports": [{"protocol": "TCP", "port": 6379}]})


def backup_replaces_a_running_one(render: Render) -> None:
    # The near miss of Allow: Replace never runs two at once, but cuts the running backup off.
    _obj(render, "CronJob", "postgres-backup")["spec"]["concurrencyPolicy"] = "Replace"


def backup_runs_unbounded(render: Render) -> None:
    del _obj(render, "CronJob", "postgres-backup")["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]


def backup_keeps_none(render: Render) -> None:
    for item in _backup_pod(render)["spec"]["containers"][0]["env"]:
        if item["name"] == "BACKUP_KEEP":
            item["value"] = "0"


def backup_as_root(render: Render) -> None:
    _backup_pod(render)["spec"]["securityContext"]["runAsUser"] = 0


def internet_egress_includes_the_cluster(render: Render) -> None:
    _obj(render, "NetworkPolicy", "allow-llama")["spec"]["egress"][0]["to"][0]["ipBlock"]["except"] = []


def internet_egress_for_mcp(render: Render) -> None:
    egress = _obj(render, "NetworkPolicy", "allow-llama")["spec"]["egress"][0]
    _obj(render, "NetworkPolicy", "allow-mcp")["spec"]["egress"].append(copy.deepcopy(egress))


def monitor_on_missing_port(render: Render) -> None:
    _obj(render, "ServiceMonitor", "mcp")["spec"]["endpoints"][0]["port"] = "metrics"


def monitor_missing(render: Render) -> None:
    render.objects.remove(_obj(render, "ServiceMonitor", "agenticos"))


def llama_scraped_without_its_key(render: Render) -> None:
    """The near miss: the right Service and port, but llama answers a keyless scrape with 401."""
    del _obj(render, "ServiceMonitor", "llama")["spec"]["endpoints"][0]["authorization"]


def monitor_for_ui(render: Render) -> None:
    monitor = copy.deepcopy(_obj(render, "ServiceMonitor", "mcp"))
    monitor["metadata"]["name"] = "ui"
    monitor["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "ui"}
    render.objects.append(monitor)


def alert_threshold_changed(render: Render) -> None:
    rule = _obj(render, "PrometheusRule", "noa-server")["spec"]["groups"][0]["rules"][2]
    assert rule["alert"] == "HighRequestLatency" and rule["expr"].rstrip().endswith("> 2")
    rule["expr"] = rule["expr"].rstrip()[:-1] + "3\n"


def prometheus_on_another_port(render: Render) -> None:
    _obj(render, "NetworkPolicy", "allow-prometheus-mcp")["spec"]["ingress"][0]["ports"][0]["port"] = 9100


def prometheus_edge_missing(render: Render) -> None:
    render.objects.remove(_obj(render, "NetworkPolicy", "allow-prometheus-llama"))


def _prometheus_policy(server: str, port: int) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"allow-prometheus-{server}"},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": server}},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                     "kubernetes.io/metadata.name": "monitoring"}},
                     "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                     "ports": [{"protocol": "TCP", "port": port}]}]},
    }


def prometheus_to_postgres(render: Render) -> None:
    """The exporter's edge in a variant without the exporter: no need the catalogue names there."""
    render.objects.append(_prometheus_policy("postgres", 9187))


def prometheus_to_the_store_s_own_port(render: Render) -> None:
    """The near miss: the right pods and peer, but the database's port instead of its exporter's."""
    _obj(render, "NetworkPolicy", "allow-prometheus-postgres-exporter")["spec"]["ingress"][0]["ports"][0][
        "port"] = 5432


def exporter_port_open_to_every_namespace(render: Render) -> None:
    """Any namespace's pods labelled prometheus, not the monitoring namespace's."""
    peer = _obj(render, "NetworkPolicy", "allow-prometheus-redis-exporter")["spec"]["ingress"][0]["from"][0]
    peer["namespaceSelector"] = {}


def prometheus_beside_the_apps(render: Render) -> None:
    """Prometheus added to an app's rule on postgres: it would reach the database's port."""
    scrape = _obj(render, "NetworkPolicy", "allow-prometheus-postgres-exporter")["spec"]["ingress"][0]
    _obj(render, "NetworkPolicy", "allow-postgres")["spec"]["ingress"][0]["from"].append(
        copy.deepcopy(scrape["from"][0]))


def _exporter(render: Render, store: str) -> Obj:
    containers = pod_template(_obj(render, "StatefulSet", store))["spec"]["containers"]
    exporter: Obj = next(c for c in containers if c["name"] == f"{store}-exporter")
    return exporter


def _exporter_env(render: Render, store: str, name: str) -> Obj:
    item: Obj = next(i for i in _exporter(render, store)["env"] if i["name"] == name)
    return item


def exporter_password_as_a_value(render: Render) -> None:
    item = _exporter_env(render, "postgres", "DATA_SOURCE_PASS")
    del item["valueFrom"]
    item["value"] = "a-password-in-git"


def exporter_logs_in_as_the_superuser(render: Render) -> None:
    """The near miss: a secretKeyRef, but to the superuser's password, not noa_monitor's."""
    reference = _exporter_env(render, "postgres", "DATA_SOURCE_PASS")["valueFrom"]["secretKeyRef"]
    reference["key"] = "POSTGRES_PASSWORD"


def exporter_dsn_with_its_password(render: Render) -> None:
    _exporter(render, "postgres")["env"].append(
        {"name": "DATA_SOURCE_NAME", "value": "postgresql://noa_monitor:a-password@127.0.0.1:5432/noa"})


def exporter_password_as_an_argument(render: Render) -> None:
    _exporter(render, "redis")["args"] = ["--redis.password=$(REDIS_PASSWORD)"]


def exporter_reads_the_store_s_service(render: Render) -> None:
    """Through the Service: another pod's Redis, and an edge no NetworkPolicy allows."""
    _exporter_env(render, "redis", "REDIS_ADDR")["value"] = "redis://redis:6379"


def exporter_mounts_the_store_s_secrets(render: Render) -> None:
    _exporter(render, "postgres")["volumeMounts"] = [
        {"name": "secrets", "mountPath": "/run/secrets/noa", "readOnly": True}]


def exporter_first(render: Render) -> None:
    """What a strategic-merge patch does: the sidecar becomes containers[0]."""
    containers = pod_template(_obj(render, "StatefulSet", "redis"))["spec"]["containers"]
    containers.reverse()


def exporter_without_the_component(render: Render) -> None:
    pod_template(_obj(render, "StatefulSet", "redis"))["spec"]["containers"].append(
        {"name": "redis-exporter", "image": "noa/redis-exporter:dev"})


def exporter_service_on_another_store(render: Render) -> None:
    _obj(render, "Service", "postgres-exporter")["spec"]["selector"] = {"app.kubernetes.io/name": "redis"}


def exporter_ready_only_with_its_store(render: Render) -> None:
    """/metrics logs in to the database: the pod would leave its Service with every database hiccup."""
    _exporter(render, "postgres")["readinessProbe"]["httpGet"]["path"] = "/metrics"


def exporter_monitor_missing(render: Render) -> None:
    render.objects.remove(_obj(render, "ServiceMonitor", "redis-exporter"))


def store_annotated_with_its_own_port(render: Render) -> None:
    annotations = pod_template(_obj(render, "StatefulSet", "postgres"))["metadata"]["annotations"]
    annotations["prometheus.io/port"] = "5432"


def prometheus_without_the_component(render: Render) -> None:
    """The near miss: the edge the component adds, in a variant without it."""
    render.objects.append(_prometheus_policy("mcp", 8001))


def _pod_annotations(render: Render, name: str) -> Obj:
    metadata = pod_template(_obj(render, "Deployment", name)).setdefault("metadata", {})
    annotations: Obj = metadata.setdefault("annotations", {})
    return annotations


def annotation_on_another_port(render: Render) -> None:
    _pod_annotations(render, "mcp")["prometheus.io/port"] = "9100"


def llama_annotated(render: Render) -> None:
    _pod_annotations(render, "llama").update(copy.deepcopy(_pod_annotations(render, "mcp")))


def dashboard_drifts(render: Render) -> None:
    configmap = _obj(render, "ConfigMap", "noa-grafana-dashboard")
    configmap["data"]["noa-server.json"] = configmap["data"]["noa-server.json"].replace("pg_up", "pg_down")


Defect = tuple[str, Callable[[Render], None], str, str]
MONITORED = "prod-external-secrets-monitoring"
DEFECTS: list[Defect] = [
    (
        "dev",
        drop_pod_seccomp,
        "pod_security_restricted",
        "StatefulSet/postgres: spec.template.spec.securityContext.seccompProfile.type",
    ),
    (
        "dev",
        low_uid,
        "pod_security_restricted",
        "Deployment/mcp: spec.template.spec.securityContext.runAsUser",
    ),
    (
        "dev",
        token_mounted,
        "pod_security_restricted",
        "Deployment/ui: spec.template.spec.automountServiceAccountToken",
    ),
    (
        "dev",
        writable_root,
        "pod_security_restricted",
        "StatefulSet/redis: spec.template.spec.containers[0](redis).securityContext.readOnlyRootFilesystem",
    ),
    (
        "dev",
        privilege_escalation,
        "pod_security_restricted",
        "Deployment/agenticos: spec.template.spec."
        "containers[0](agenticos).securityContext.allowPrivilegeEscalation",
    ),
    ("dev", selector_clash, "selectors_are_distinct", "Deployment/mcp: spec.selector.matchLabels"),
    ("dev", service_selects_nothing, "services_select_pods", "Service/redis: spec.selector"),
    (
        "dev",
        wrong_probe_path,
        "probes_follow_catalogue",
        "Deployment/mcp: spec.template.spec.containers[0](mcp).readinessProbe.httpGet.path '/ready'",
    ),
    (
        "dev",
        startup_probe_without_its_timeout,
        "probes_follow_catalogue",
        "Deployment/claude-flow: spec.template.spec.containers[0](claude-flow).startupProbe "
        "period/timeout/failureThreshold (5, None, 30) must be (5, 3, 30)",
    ),
    (
        "dev",
        probe_on_unserved_path,
        "probes_follow_catalogue",
        "Deployment/llama: spec.template.spec."
        "containers[0](llama).livenessProbe.httpGet.path '/health/ready'",
    ),
    (
        "dev",
        exec_probe_with_variable,
        "containers_are_complete",
        "StatefulSet/postgres: spec.template.spec."
        "containers[0](postgres).readinessProbe.exec.command uses $(VAR)",
    ),
    (
        "dev",
        missing_limits,
        "containers_are_complete",
        "Deployment/claude-flow: spec.template.spec."
        "containers[0](claude-flow).resources.limits.ephemeral-storage",
    ),
    (
        "dev",
        latest_image,
        "containers_are_complete",
        "Deployment/ui: spec.template.spec.containers[0](ui).image",
    ),
    ("dev", wrong_service_port, "agrees_with_catalogue", "Service/mcp: spec.ports [8000]"),
    ("dev", postgres_as_deployment, "agrees_with_catalogue", "StatefulSet/postgres: missing"),
    ("prod", replicas_under_hpa, "environment_shape", "Deployment/mcp: spec.replicas is set"),
    (
        "dev",
        shared_rwo_claim,
        "no_shared_read_write_once_claims",
        "Deployment/llama: mounts claim llama-models",
    ),
    ("prod", committed_secret, "secrets_come_from_one_source", "Secret/noa-secrets: a Secret with values"),
    ("staging-external-secrets", api_clients_hash_the_wrong_key, "secrets_come_from_one_source",
     "ExternalSecret/noa-secrets: spec.target.template.data.API_CLIENTS must be"),
    ("prod-external-secrets", operator_key_stored_in_the_cluster, "secrets_come_from_one_source",
     "'MONITOR_POSTGRES_PASSWORD', 'MONITOR_REDIS_PASSWORD', 'OPERATOR_API_KEY'"),
    ("dev", missing_dependency_edge, "network_policies", "no ingress allow on redis from its dependant mcp"),
    ("dev", no_default_deny, "network_policies", "NetworkPolicy: no default deny"),
    (MONITORED, ui_cut_off_from_prometheus, "network_policies",
     "NetworkPolicy: no egress allow from ui to the monitoring namespace's prometheus pods on TCP 9090"),
    (MONITORED, ui_to_every_monitoring_pod, "network_policies",
     "NetworkPolicy: ui may reach the monitoring namespace's * pods on TCP 9090, which no need names"),
    (MONITORED, ui_to_prometheus_on_another_port, "network_policies",
     "NetworkPolicy: ui may reach the monitoring namespace's prometheus pods on TCP 9091"),
    (
        "dev",
        ingress_keeps_prefix,
        "ingress_matches_ui_routing",
        "Ingress/noa-server: path /api/mcp goes to mcp",
    ),
    ("dev", seed_routes, "ingress_matches_ui_routing", "Ingress/noa-server: path /api/flow has no `location"),
    ("prod", dashboard_file_as_prefix, "ingress_matches_ui_routing",
     "Ingress/noa-server: path /dashboard.js (Prefix) routes more than the dashboard's files"),
    ("prod", dashboard_as_prefix, "ingress_reaches_no_probe",
     "Ingress/noa-server: path / (Prefix) reaches ui's /health as /health;"),
    ("staging", ui_readiness_routed, "ingress_reaches_no_probe",
     "Ingress/noa-server: path /health/ready (Exact) reaches ui's /health/ready"),
    ("dev", api_health_passed_through, "ingress_reaches_no_probe",
     "Ingress/noa-server: path /api/mcp (Prefix) reaches mcp's /health/ready as /api/mcp/health/ready"),
    ("dev", status_reads_metrics, "ingress_reaches_no_probe",
     "ui nginx.conf: /status/mcp proxies to http://mcp:8001/metrics; it must read http://mcp:8001/health/ready"),
    ("dev", panel_passes_the_callers_query, "panels_read_dashboard_queries",
     "ui nginx.conf: /panels/up proxies to $prometheus_url/api/v1/query?query=$arg_query; it must send"),
    ("prod", panel_narrows_a_dashboard_query, "panels_read_dashboard_queries",
     "ui nginx.conf: /panels/up queries 'up{job=\"mcp\"}', which is no query of the Grafana dashboard"),
    (MONITORED, prometheus_by_short_name, "panels_read_dashboard_queries",
     "ConfigMap/noa-config: PROMETHEUS_URL http://prometheus-operated.monitoring:9090 must be"),
    ("staging", panel_takes_posts, "panels_read_dashboard_queries",
     "ui nginx.conf: /panels/up must be GET only"),
    (
        "dev",
        unmounted_nginx_config,
        "mounted_files_are_the_sources",
        "Deployment/ui: nothing is mounted at /etc/nginx/nginx.conf",
    ),
    (
        "dev",
        schema_without_tables,
        "mounted_files_are_the_sources",
        "data.init-db.sql differs from docker/init-db.sql",
    ),
    ("dev", no_pdb, "disruption_budgets", "StatefulSet/redis: needs exactly one PodDisruptionBudget"),
    ("dev", pdb_min_available, "disruption_budgets", "PodDisruptionBudget/ui: spec.maxUnavailable must be 1"),
    (
        "dev",
        missing_secret_env,
        "environment_follows_settings_catalogue",
        "Deployment/agenticos: spec.template.spec.containers[0].env: required setting "
        "AGENTICOS_REDIS_PASSWORD",
    ),
    ("dev", role_password_not_mounted, "environment_follows_settings_catalogue",
     "StatefulSet/postgres: containers[0] gets no CLAUDE_FLOW_POSTGRES_PASSWORD (env or _FILE)"),
    ("dev", service_type("NodePort"), "services_select_pods",
     "Service/mcp: spec.type NodePort opens it outside the cluster"),
    ("prod-external-secrets", service_type("LoadBalancer"), "services_select_pods",
     "Service/mcp: spec.type LoadBalancer opens it outside the cluster"),
    (
        "staging-external-secrets",
        optional_setting_dropped,
        "environment_follows_settings_catalogue",
        "Deployment/claude-flow: spec.template.spec.containers[0]: setting RATE_LIMIT_MAX has no way in",
    ),
    (
        "prod",
        llama_setting_hard_coded,
        "environment_follows_settings_catalogue",
        "Deployment/llama: containers[0].env[LLAMA_ARG_THREADS] must come from ConfigMap key LLAMA_THREADS",
    ),
    (
        "dev",
        literal_secret_env,
        "environment_follows_settings_catalogue",
        "Deployment/mcp: spec.template.spec."
        "containers[0].env[MCP_POSTGRES_PASSWORD]: a secret must come from a secretKeyRef",
    ),
    (
        "prod",
        namespace_not_enforcing,
        "namespaces_enforce_restricted",
        "Namespace/noa-server-prod: metadata.labels.pod-security.kubernetes.io/enforce",
    ),
    ("dev", wildcard_role, "least_privilege_rbac", "Role/noa-observer: rules[0] uses a wildcard"),
    ("prod", gpu_missing, "environment_shape", "Deployment/llama: staging and prod run noa/llama-cuda"),
    ("staging-local", gpu_left_behind, "environment_shape", "Deployment/llama: without a GPU it runs"),
    ("staging-local", gpu_node_selector_left_behind, "environment_shape",
     "Deployment/llama: without a GPU it runs"),
    ("dev", server_writes_models, "llama_fetches_its_model",
     "Deployment/llama: claim llama-models must be writable by init container fetch-model alone"),
    ("prod-sealed-secrets", server_writes_models, "llama_fetches_its_model",
     "Deployment/llama: containers[0] must mount claim llama-models read-only at /models"),
    ("dev", no_model_fetcher, "llama_fetches_its_model",
     "Deployment/llama: claim llama-models must be writable by init container fetch-model alone"),
    ("dev", model_sha256_drifts, "llama_fetches_its_model", "data.MODEL_SHA256 '0000"),
    ("staging-external-secrets", model_url_drifts, "llama_fetches_its_model",
     "data.MODEL_URL 'https://example.org/"),
    ("dev", rename_before_verify, "llama_fetches_its_model",
     "initContainers[0](fetch-model) must download over https only, check MODEL_SHA256"),
    ("dev", init_container_probed, "containers_are_complete",
     "initContainers[0](fetch-model).livenessProbe: a container that runs to completion takes no probes"),
    ("dev", backup_runs_another_image, "jobs_agree_with_catalogue",
     "CronJob/postgres-backup: containers[0].image 'noa/mcp:dev' is not postgres's image"),
    ("prod", backup_borrows_postgres_account, "jobs_agree_with_catalogue",
     "CronJob/postgres-backup: must run as ServiceAccount/postgres-backup, its own"),
    ("dev", backup_probed, "containers_are_complete",
     "containers[0](backup).livenessProbe: a container that runs to completion takes no probes"),
    ("staging", backup_reaches_redis, "network_policies",
     "NetworkPolicy: postgres-backup -> redis is allowed but the catalogues name no such need"),
    ("dev", backup_as_root, "pod_security_restricted", "CronJob/postgres-backup"),
    ("prod", backup_replaces_a_running_one, "jobs_agree_with_catalogue",
     "CronJob/postgres-backup: spec.concurrencyPolicy must be Forbid, not 'Replace'"),
    ("staging", backup_runs_unbounded, "jobs_agree_with_catalogue",
     "CronJob/postgres-backup: spec.jobTemplate.spec.activeDeadlineSeconds must be a positive number"),
    ("dev", backup_keeps_none, "jobs_agree_with_catalogue",
     "CronJob/postgres-backup: BACKUP_KEEP '0' must be a whole number of at least 1"),
    ("dev", internet_egress_includes_the_cluster, "network_policies",
     "NetworkPolicy/allow-llama: spec.egress[0]: ipBlock 0.0.0.0/0 must except"),
    ("prod", internet_egress_for_mcp, "network_policies",
     "NetworkPolicy: mcp may reach the internet on TCP 443, which INTERNET_EGRESS does not name"),
    (MONITORED, monitor_on_missing_port, "service_monitors_scrape_metrics",
     "ServiceMonitor/mcp: spec.endpoints[0].port 'metrics' is no port of Service/mcp"),
    (MONITORED, monitor_missing, "service_monitors_scrape_metrics",
     "Service/agenticos: serves /metrics (catalogue SCRAPED) and needs exactly one ServiceMonitor, has []"),
    (MONITORED, llama_scraped_without_its_key, "service_monitors_scrape_metrics",
     "ServiceMonitor/llama: spec.endpoints[0].authorization None must be {'type': 'Bearer'"),
    (MONITORED, monitor_for_ui, "service_monitors_scrape_metrics",
     "ServiceMonitor/ui: selects Service/ui, which serves no metrics"),
    (MONITORED, alert_threshold_changed, "prometheus_rule_is_the_rule_file",
     "PrometheusRule/noa-server: spec.groups differ from docker/monitoring/alert-rules.yml "
     "(alert HighRequestLatency)"),
    (MONITORED, prometheus_on_another_port, "network_policies",
     "NetworkPolicy/allow-prometheus-mcp: spec.ingress[0] must allow exactly port 8001"),
    (MONITORED, prometheus_edge_missing, "network_policies",
     "NetworkPolicy: no ingress allow from the monitoring namespace's prometheus pods to llama"),
    ("prod-external-secrets", prometheus_to_postgres, "network_policies",
     "NetworkPolicy: the monitoring namespace's prometheus pods may reach postgres, which no need names"),
    (MONITORED, prometheus_to_the_store_s_own_port, "network_policies",
     "NetworkPolicy/allow-prometheus-postgres-exporter: spec.ingress[0] must allow exactly port 9187"),
    (MONITORED, exporter_port_open_to_every_namespace, "network_policies",
     "NetworkPolicy: the * namespace's prometheus pods may reach redis, which no need names"),
    (MONITORED, prometheus_beside_the_apps, "network_policies",
     "NetworkPolicy/allow-postgres: spec.ingress[0] admits peers that need different ports [5432, 9187]"),
    (MONITORED, exporter_password_as_a_value, "exporters_are_sidecars_of_their_stores",
     "StatefulSet/postgres: spec.template.spec.containers[1](postgres-exporter).env[DATA_SOURCE_PASS] must "
     "come from a secretKeyRef {'name': 'noa-secrets', 'key': 'MONITOR_POSTGRES_PASSWORD'}"),
    (MONITORED, exporter_logs_in_as_the_superuser, "exporters_are_sidecars_of_their_stores",
     "env[DATA_SOURCE_PASS] must come from a secretKeyRef {'name': 'noa-secrets', 'key': "
     "'MONITOR_POSTGRES_PASSWORD'} (compose reads it from MONITOR_POSTGRES_PASSWORD), not {'key': "
     "'POSTGRES_PASSWORD'"),
    (MONITORED, exporter_dsn_with_its_password, "exporters_are_sidecars_of_their_stores",
     "(postgres-exporter).env[DATA_SOURCE_NAME]: a URL with a password in the manifest"),
    (MONITORED, exporter_password_as_an_argument, "exporters_are_sidecars_of_their_stores",
     "StatefulSet/redis: spec.template.spec.containers[1](redis-exporter).args: the exporter runs its "
     "image's command"),
    (MONITORED, exporter_reads_the_store_s_service, "exporters_are_sidecars_of_their_stores",
     "(redis-exporter).env[REDIS_ADDR] 'redis://redis:6379' must reach redis on 127.0.0.1:6379"),
    (MONITORED, exporter_mounts_the_store_s_secrets, "exporters_are_sidecars_of_their_stores",
     "(postgres-exporter): mounts nothing and takes no envFrom"),
    (MONITORED, exporter_first, "exporters_are_sidecars_of_their_stores",
     "StatefulSet/redis: spec.template.spec.containers[0] must stay redis"),
    ("prod-external-secrets", exporter_without_the_component, "exporters_are_sidecars_of_their_stores",
     "StatefulSet/redis: spec.template.spec.containers[1](redis-exporter): only the monitoring component "
     "runs an exporter"),
    (MONITORED, exporter_service_on_another_store, "exporters_are_sidecars_of_their_stores",
     "Service/postgres-exporter: spec.selector {'app.kubernetes.io/name': 'redis'} must be "
     "{'app.kubernetes.io/name': 'postgres'}"),
    (MONITORED, exporter_ready_only_with_its_store, "probes_follow_catalogue",
     "StatefulSet/postgres: spec.template.spec.containers[1](postgres-exporter).readinessProbe.httpGet.path "
     "'/metrics': postgres-exporter serves its ready tier on '/'"),
    (MONITORED, exporter_monitor_missing, "service_monitors_scrape_metrics",
     "Service/redis-exporter: serves /metrics (catalogue EXPORTERS) and needs exactly one ServiceMonitor"),
    (MONITORED, store_annotated_with_its_own_port, "scrape_annotations_match_ports",
     "StatefulSet/postgres: spec.template.metadata.annotations"),
    ("prod-external-secrets", prometheus_without_the_component, "network_policies",
     "NetworkPolicy: the monitoring namespace's prometheus pods may reach mcp, which no need names"),
    (MONITORED, annotation_on_another_port, "scrape_annotations_match_ports",
     "'prometheus.io/port': '9100', 'prometheus.io/scrape': 'true'} must be {'prometheus.io/scrape': "
     "'true', 'prometheus.io/port': '8001'"),
    (MONITORED, llama_annotated, "scrape_annotations_match_ports",
     "Deployment/llama: spec.template.metadata.annotations ['prometheus.io/path'"),
    (MONITORED, dashboard_drifts, "dashboard_is_the_source",
     "ConfigMap/noa-grafana-dashboard: data ['noa-server.json'] differs from "
     "docker/monitoring/grafana-dashboard.json"),
]


@pytest.mark.parametrize(
    ("variant", "defect", "rule", "expected"), DEFECTS, ids=[defect.__name__ for _, defect, _, _ in DEFECTS]
)
def test_rule_catches_defect(
    renders: dict[str, Render], variant: str, defect: Callable[[Render], None], rule: str, expected: str
) -> None:
    broken = copy.deepcopy(renders[variant])
    assert not RULES[rule](broken), "the good render must pass before it is broken"
    defect(broken)
    violations = RULES[rule](broken)
    assert any(expected in line for line in violations), "\n".join(violations) or "no violation reported"


def test_every_rule_has_a_seeded_defect() -> None:
    assert {rule for _, _, rule, _ in DEFECTS} == set(RULES)
    # The registry holds every rule the concern modules define, each once: twenty-five since the
    # exporter sidecars and the ui's metrics view (a new rule raises this count and brings its seeded
    # defect).
    defined = [rule.__name__ for rule in rule_set.defined_rules()]
    assert len(defined) == len(set(defined)) == len(RULES) == 25, sorted(defined)
    assert set(defined) == set(RULES)


def _write(objects: list[Obj], path: Path) -> Path:
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return path


def test_schema_validation_rejects_a_misspelt_field(renders: dict[str, Render], tmp_path: Path) -> None:
    broken = copy.deepcopy(renders["dev"])
    container = _container(broken, "Deployment", "mcp")
    container["imagePullPolicey"] = container.pop("imagePullPolicy")
    report = k8s_validate.validate([_write(broken.objects, tmp_path / "dev.yaml")])
    lines = [f.line() for f in report.findings]
    assert not report.ok
    assert any("Deployment/mcp" in line and "imagePullPolicey" in line for line in lines), lines
    # Both supported versions report it.
    assert {f.version for f in report.findings} == set(k8s_validate.KUBERNETES_VERSIONS)


def test_schema_validation_rejects_a_wrong_type_and_an_unknown_kind(
    renders: dict[str, Render], tmp_path: Path
) -> None:
    broken = copy.deepcopy(renders["dev"])
    _obj(broken, "Service", "ui")["spec"]["ports"][0]["port"] = "9200"
    broken.objects.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    report = k8s_validate.validate([_write(broken.objects, tmp_path / "dev.yaml")], versions=("1.30.0",))
    lines = [f.line() for f in report.findings]
    assert any("Service/ui" in line and "spec.ports[0].port" in line for line in lines), lines
    assert any("Widget/w" in line and "no schema" in line for line in lines), lines


def test_schema_validation_passes_the_good_render(render_dir: Path) -> None:
    report = k8s_validate.validate([render_dir / "prod-external-secrets.yaml"])
    assert report.ok, "\n".join(report.lines())
    assert report.skipped == {"ExternalSecret"}


def _monitor(renders: dict[str, Render]) -> Obj:
    return copy.deepcopy(_obj(renders[MONITORED], "ServiceMonitor", "llama"))


def test_schema_validation_checks_the_monitoring_objects(renders: dict[str, Render], tmp_path: Path) -> None:
    """ServiceMonitor and PrometheusRule are validated against their CRDs' schemas, not skipped."""
    objects = [o for o in renders[MONITORED].objects if o["kind"] in ("ServiceMonitor", "PrometheusRule")]
    # A ServiceMonitor per scraped service and per exporter, and the one PrometheusRule.
    expected = len(catalogue.SCRAPED) + len(catalogue.EXPORTERS) + 1
    assert len(objects) == expected == 7
    report = k8s_validate.validate([_write(objects, tmp_path / "monitoring.yaml")])
    assert report.ok, "\n".join(report.lines())
    assert report.checked == expected and not report.skipped


@pytest.mark.parametrize(
    ("misspell", "expected"),
    [
        # The near miss: one letter short of endpoints, which is then missing too.
        (lambda m: m["spec"].update(endpoint=m["spec"].pop("endpoints")), "'endpoint' was unexpected"),
        (lambda m: m["spec"]["endpoints"][0].update(intervall=m["spec"]["endpoints"][0].pop("interval")),
         "spec.endpoints[0]: Additional properties are not allowed ('intervall' was unexpected)"),
        (lambda m: m["spec"]["endpoints"][0]["authorization"].update(
            credential=m["spec"]["endpoints"][0]["authorization"].pop("credentials")), "'credential'"),
        (lambda m: m["metadata"].update(label=m["metadata"].pop("labels")),
         "metadata: Additional properties"),
    ],
    ids=["endpoint", "intervall", "credential", "metadata-label"],
)
def test_schema_validation_rejects_a_misspelt_service_monitor_field(
    renders: dict[str, Render], tmp_path: Path, misspell: Callable[[Obj], None], expected: str
) -> None:
    monitor = _monitor(renders)
    assert k8s_validate.validate([_write([monitor], tmp_path / "good.yaml")]).ok
    misspell(monitor)
    report = k8s_validate.validate([_write([monitor], tmp_path / "bad.yaml")])
    lines = [f.line() for f in report.findings]
    assert any("ServiceMonitor/llama" in line and expected in line for line in lines), lines
    assert {f.version for f in report.findings} == set(k8s_validate.KUBERNETES_VERSIONS)


def test_schema_validation_rejects_a_prometheus_rule_with_a_wrong_type(
    renders: dict[str, Render], tmp_path: Path
) -> None:
    rule = copy.deepcopy(_obj(renders[MONITORED], "PrometheusRule", "noa-server"))
    rule["spec"]["groups"][0]["rules"][0]["labels"] = ["severity", "critical"]
    report = k8s_validate.validate([_write([rule], tmp_path / "rule.yaml")], versions=("1.30.0",))
    lines = [f.line() for f in report.findings]
    assert any("spec.groups[0].rules[0].labels" in line for line in lines), lines


def test_common_labels_in_the_base_are_caught(tmp_path: Path) -> None:
    """The upstream design's `commonLabels: {app: noa-server}`, applied to a copy of the real tree."""
    staged = k8s_render.stage(ROOT / "k8s", tmp_path)
    kustomization = staged / "base" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "commonLabels:\n  app: noa-server\n")
    rendered = k8s_render.render(k8s_render.variant_dir(staged, k8s_render.variant("dev")))
    broken = Render(k8s_render.variant("dev"), [o for o in k8s_validate.load_manifests(rendered) if o])
    violations = RULES["selectors_are_distinct"](broken)
    assert any("Deployment/mcp: spec.selector.matchLabels" in line for line in violations), violations
