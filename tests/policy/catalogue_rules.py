"""Catalogue wiring: workloads, Services and probes as noa_ops/catalogue.py describes them,
each container's environment as the settings catalogue (noa_common.env_catalogue) does,
one source for noa-secrets, and the mounted files the repository's own."""

from __future__ import annotations

from collections.abc import Iterator

from noa_common import api_keys, env_catalogue
from noa_ops import catalogue
from noa_ops.k8s_render import SECRET_KEYS

from .manifest import INIT_SQL, NGINX_CONF, ROOT, Obj, Render, find, name_of, of_kind, ref
from .pods import (
    configmap_keys,
    containers,
    env_names,
    long_running,
    named_port,
    pod_template,
    template_labels,
    workloads,
)

SECRET_NAME = "noa-secrets"
# Probe timings (SEED_FACTS "Health checks"): (initialDelaySeconds, periodSeconds, timeoutSeconds,
# failureThreshold). Startup: 5 s x 30 (150 s); llama loads a model: 10 s x 60 (600 s).
PROBE_TIMINGS = {
    "livenessProbe": (30, 10, 5, 3),
    "readinessProbe": (10, 5, 3, 3),
}
# (periodSeconds, timeoutSeconds, failureThreshold) of each startup probe: SEED's 5 s x 30, llama's
# model load 10 s x 60; each answer within the readiness probe's 3 s.
STARTUP_BUDGET = {"default": (5, 3, 30), "llama": (10, 3, 60)}
TIER_OF_PROBE = {
    "startupProbe": catalogue.Tier.STARTUP,
    "readinessProbe": catalogue.Tier.READY,
    "livenessProbe": catalogue.Tier.LIVE,
}


def running_containers(pod_spec: Obj) -> Iterator[tuple[str, Obj]]:
    """containers() without the init containers, which run to completion and take no probes."""
    return ((path, c) for path, c in containers(pod_spec) if ".initContainers[" not in path)


def secret_key_refs(render: Render, only: Obj | None = None) -> set[str]:
    keys: set[str] = set()
    for workload in [only] if only is not None else workloads(render):
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


def agrees_with_catalogue(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """Names, ports, labels, kinds and images as noa_ops/catalogue.py describes them."""
    problems = []
    names = set(catalogue.names())
    jobs = {job.name for job in catalogue.JOBS}
    for other in workloads(render):
        if name_of(other) not in names | jobs:
            problems.append(f"{ref(other)}: not a service or job of noa_ops/catalogue.py")
        elif (name_of(other) in jobs) != (other["kind"] == "CronJob"):
            problems.append(f"{ref(other)}: the catalogue's jobs, and only they, are CronJobs")
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


def jobs_agree_with_catalogue(render: Render) -> list[str]:
    """Each catalogue job is a CronJob of its name, its pods labelled so, running its service's image
    under a ServiceAccount of its own, bounded (bounded_cronjob)."""
    problems = []
    for job in catalogue.JOBS:
        cronjob = find(render, "CronJob", job.name)
        if cronjob is None:
            problems.append(f"CronJob/{job.name}: missing (catalogue job {job.name})")
            continue
        pod = pod_template(cronjob)
        if template_labels(cronjob).get("app.kubernetes.io/name") != job.name:
            problems.append(f"{ref(cronjob)}: pod label app.kubernetes.io/name must be {job.name}")
        image = str(((pod["spec"].get("containers") or [{}])[0]).get("image", ""))
        if image.partition("@")[0].rpartition(":")[0] != f"noa/{catalogue.get(job.image).target}":
            problems.append(f"{ref(cronjob)}: containers[0].image {image!r} is not {job.image}'s image")
        account = find(render, "ServiceAccount", job.name)
        if pod["spec"].get("serviceAccountName") != job.name or account is None:
            problems.append(f"{ref(cronjob)}: must run as ServiceAccount/{job.name}, its own")
        problems += bounded_cronjob(cronjob)
    return problems


def bounded_cronjob(cronjob: Obj) -> list[str]:
    """One run at a time that never replaces a running one (a backup cut off halfway is none), on a
    stated time zone, each run and its retries bounded in time, a history kept, and a positive
    BACKUP_KEEP where the container reads one."""
    problems = []
    spec, where = cronjob["spec"], ref(cronjob)
    job = (spec.get("jobTemplate") or {}).get("spec") or {}
    if (policy := spec.get("concurrencyPolicy")) != "Forbid":
        problems.append(f"{where}: spec.concurrencyPolicy must be Forbid, not {policy!r}")
    for field in ("timeZone", "startingDeadlineSeconds", "successfulJobsHistoryLimit",
                  "failedJobsHistoryLimit"):
        if not spec.get(field):
            problems.append(f"{where}: spec.{field} must be set")
    for field in ("activeDeadlineSeconds", "backoffLimit"):
        if not isinstance(job.get(field), int) or job[field] <= 0:
            problems.append(f"{where}: spec.jobTemplate.spec.{field} must be a positive number")
    for _, container in containers(pod_template(cronjob)["spec"]):
        keep = env_names(container).get("BACKUP_KEEP", {}).get("value")
        if keep is not None and not (str(keep).isdigit() and int(keep) >= 1):
            problems.append(f"{where}: BACKUP_KEEP {keep!r} must be a whole number of at least 1")
    return problems


def http_health(workload: Obj, container: Obj) -> tuple[str, catalogue.HealthPaths, int] | None:
    """(who, health paths, port) a container's probes ask over HTTP: an exporter sidecar its image's
    health check path on its own port (catalogue EXPORTERS), any other container its workload's
    service's paths on the service's port; None for a container with no HTTP health path."""
    exporter = catalogue.exporter_named(str(container.get("name")))
    if exporter is not None:
        return exporter.name, exporter.health, exporter.port
    name = name_of(workload)
    service = catalogue.get(name) if name in catalogue.names() else None
    if service is None or service.health is None:
        return None
    return service.name, service.health, service.port


def probes_follow_catalogue(render: Render) -> list[str]:
    """HTTP probes on the path the catalogue gives each tier, on the catalogue's port, with SEED timings."""
    problems = []
    for workload in long_running(render):
        for path, container in running_containers(pod_template(workload)["spec"]):
            where = f"{ref(workload)}: {path}"
            health = http_health(workload, container)
            for probe_name, tier in TIER_OF_PROBE.items():
                probe = container.get(probe_name) or {}
                http = probe.get("httpGet")
                if health is not None:
                    who, paths, port = health
                    if http is None:
                        problems.append(f"{where}.{probe_name} must be an httpGet on {paths.path(tier)}")
                        continue
                    if http.get("path") != paths.path(tier):
                        problems.append(
                            f"{where}.{probe_name}.httpGet.path {http.get('path')!r}: {who} "
                            f"serves its {tier} tier on {paths.path(tier)!r}"
                        )
                    if named_port(container, http.get("port")) != port:
                        problems.append(f"{where}.{probe_name}.httpGet.port is not {who}'s port {port}")
                elif http is not None:
                    problems.append(
                        f"{where}.{probe_name}.httpGet: {name_of(workload)} serves no HTTP health path"
                    )
                if probe_name == "startupProbe":
                    budget = STARTUP_BUDGET.get(name_of(workload), STARTUP_BUDGET["default"])
                    actual = (probe.get("periodSeconds"), probe.get("timeoutSeconds"),
                              probe.get("failureThreshold"))
                    if actual != budget:
                        problems.append(
                            f"{where}.startupProbe period/timeout/failureThreshold {actual} must be {budget}"
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
            elif not supplied:
                problems.append(f"{where}: setting {name} has no way in (no env entry, no ConfigMap key): "
                                f"setting it for this environment would change nothing")
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
    problems += _llama_settings_reach_llama_server(render)
    problems += _data_tier_gets_its_passwords(render)
    # The Secret holds every required secret a pod reads (not the operator's own key, which only the
    # tools read) and the derived values (API_CLIENTS).
    in_cluster = {v.name for v in env_catalogue.VARIABLES
                  if v.secret and ((v.required and v.services - {env_catalogue.TASKS}) or v.derived_from)}
    if in_cluster != set(SECRET_KEYS):
        problems.append(
            f"noa_ops.k8s_render.SECRET_KEYS {sorted(SECRET_KEYS)} differ from the secret settings pods "
            f"read {sorted(in_cluster)}"
        )
    return problems


def _data_tier_gets_its_passwords(render: Render) -> list[str]:
    """postgres and redis get every variable the catalogue names for them (each app service's
    password among them), as NAME or as a NAME_FILE of the mounted Secret."""
    problems = []
    for store in (env_catalogue.POSTGRES, env_catalogue.REDIS):
        workload = find(render, "StatefulSet", store)
        if workload is None:
            problems.append(f"StatefulSet/{store}: missing")
            continue
        env = env_names(pod_template(workload)["spec"]["containers"][0])
        mounted = secret_key_refs(render, workload)
        for item in env_catalogue.variables_for(store):
            as_file = f"{item.name}_FILE" in env and item.name in mounted
            if item.name not in env and not as_file:
                problems.append(f"{ref(workload)}: containers[0] gets no {item.name} (env or _FILE)")
    return problems


def _llama_settings_reach_llama_server(render: Render) -> list[str]:
    """Each llama setting of the catalogue reaches llama-server as its LLAMA_ARG_* variable, from a
    ConfigMap key of the setting's name (so an overlay or operator can change it)."""
    workload = find(render, "Deployment", env_catalogue.LLAMA)
    if workload is None:
        return [f"Deployment/{env_catalogue.LLAMA}: missing"]
    container = pod_template(workload)["spec"]["containers"][0]
    env = env_names(container)
    problems = []
    for name, server_name in env_catalogue.LLAMA_SERVER_VARIABLES.items():
        source = "secretKeyRef" if env_catalogue.variable(name).secret else "configMapKeyRef"
        key = ((env.get(server_name) or {}).get("valueFrom") or {}).get(source, {}).get("key")
        if key != name:
            where = "Secret" if source == "secretKeyRef" else "ConfigMap"
            problems.append(f"{ref(workload)}: containers[0].env[{server_name}] must come from {where} key "
                            f"{name}, not {key or 'nowhere'}")
    return problems


def external_secret_template_problems(external: Obj, fetched: set[str]) -> list[str]:
    """Each key the template writes is the fetched value of that name, and each derived one the
    sha256 of its sources' keys, with the client names of noa_common/api_keys.py."""
    problems = []
    template = (external["spec"]["target"].get("template") or {}).get("data") or {}
    for key, value in template.items():
        item = env_catalogue.variable(key)
        if item.derived_from:
            wanted = ",".join(f"{api_keys.client_of(source)}:{{{{ .{source} | sha256sum }}}}"
                              for source in item.derived_from)
        else:
            wanted = f"{{{{ .{key} }}}}"
        if value != wanted:
            problems.append(f"{ref(external)}: spec.target.template.data.{key} must be {wanted!r}")
        sources = item.derived_from or (key,)
        missing = sorted(set(sources) - fetched)
        if missing:
            problems.append(f"{ref(external)}: spec.data must fetch {', '.join(missing)} for {key}")
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
        template = (external["spec"]["target"].get("template") or {}).get("data")
        fetched = {item["secretKey"] for item in external["spec"].get("data") or []}
        sources.append((ref(external), set(template) if template is not None else fetched))
        problems += external_secret_template_problems(external, fetched)
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


# The rules of this concern, for rule_set.RULES.
RULES = (
    agrees_with_catalogue, jobs_agree_with_catalogue, probes_follow_catalogue,
    environment_follows_settings_catalogue,
    secrets_come_from_one_source, mounted_files_are_the_sources,
)
