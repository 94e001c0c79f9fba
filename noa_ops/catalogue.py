"""The seven Noa Server services, described once.

Compose files and Kubernetes manifests are hand-written; tests prove they agree
with this description (names, ports, build targets, health paths, dependencies).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    """The three health tiers of the health contract (docs/HEALTH_CHECKS.md)."""

    LIVE = "live"
    READY = "ready"
    STARTUP = "startup"


@dataclass(frozen=True)
class HealthPaths:
    live: str = "/health"
    ready: str = "/health/ready"
    startup: str = "/health/startup"

    def path(self, tier: Tier) -> str:
        return {Tier.LIVE: self.live, Tier.READY: self.ready, Tier.STARTUP: self.startup}[tier]


STANDARD_PATHS = HealthPaths()
# llama.cpp's server has one tiered endpoint: 503 while loading, 200 when ready.
LLAMA_PATHS = HealthPaths(live="/health", ready="/health", startup="/health")


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    target: str  # Dockerfile build target
    description: str
    depends_on: tuple[str, ...] = ()
    health: HealthPaths | None = STANDARD_PATHS  # None: not an HTTP service
    published: bool = True  # compose publishes it on 127.0.0.1
    index: str = "/"  # what deploy prints to open: the app services' self-description (api_docs)
    profile: str = ""  # the compose profile it runs under ("" for the stack itself)

    @property
    def is_http(self) -> bool:
        return self.health is not None


SERVICES: tuple[Service, ...] = (
    Service("postgres", 5432, "postgres", "PostgreSQL 15: schemas noa_core, noa_agents, noa_memory",
            health=None, published=False),
    Service("redis", 6379, "redis", "Redis 7 with AOF persistence and a password",
            health=None, published=False),
    Service("mcp", 8001, "mcp", "Model Context Protocol server (streamable HTTP) over the memory schema",
            depends_on=("postgres", "redis")),
    Service("claude-flow", 9100, "claude-flow",
            "Workflow orchestration: steps queued in Redis, run through mcp",
            depends_on=("postgres", "redis", "mcp")),
    Service("agenticos", 9400, "agenticos", "Agent registry, heartbeats and task assignment",
            depends_on=("postgres", "redis", "mcp")),
    # llama's own UI is off and every route but /health needs its API key.
    Service("llama", 9300, "llama", "llama.cpp inference server (CPU; CUDA variant)",
            health=LLAMA_PATHS, index=LLAMA_PATHS.live),
    Service("ui", 9200, "ui", "Dashboard of live health, nginx proxying /api/<service>/",
            depends_on=("mcp", "claude-flow", "agenticos", "llama")),
)


# The compose profile `monitoring` (`invoke deploy --profile monitoring`): not part of the seven, run beside
# them on compose. On Kubernetes the cluster's own Prometheus scrapes the services, and the monitoring
# component runs the two exporters as sidecars of postgres and redis (EXPORTERS).
MONITORING_PROFILE = "monitoring"
# Prometheus's and Alertmanager's own health endpoints: alive, and ready to serve.
PROMETHEUS_PATHS = HealthPaths(live="/-/healthy", ready="/-/ready", startup="/-/ready")
MONITORING: tuple[Service, ...] = (
    Service("postgres-exporter", 9187, "postgres-exporter", "Prometheus exporter of PostgreSQL's statistics",
            depends_on=("postgres",), health=None, published=False, profile=MONITORING_PROFILE),
    Service("redis-exporter", 9121, "redis-exporter", "Prometheus exporter of Redis's INFO",
            depends_on=("redis",), health=None, published=False, profile=MONITORING_PROFILE),
    # Their indexes are API pages: the images carry the binaries, not Debian's web UI assets.
    Service("alertmanager", 9093, "alertmanager", "Alertmanager: the alerts Prometheus fires",
            health=PROMETHEUS_PATHS, index="/api/v2/alerts", profile=MONITORING_PROFILE),
    Service("prometheus", 9090, "prometheus", "Prometheus: scrapes every /metrics, evaluates the alert rules",
            health=PROMETHEUS_PATHS, index="/api/v1/targets", profile=MONITORING_PROFILE),
)
PROFILES: tuple[str, ...] = (MONITORING_PROFILE,)
# GET /metrics: what Prometheus scrapes (docker/monitoring/prometheus.yml; on Kubernetes the
# monitoring component's ServiceMonitors, scrape annotations and NetworkPolicies). SCRAPED: the
# services that serve it themselves. The Python services answer it without a key; llama-server
# only with its API key (METRICS_KEYS: the noa-secrets key a scrape sends as a bearer token).
# ui's nginx serves no metrics; postgres's and redis's come from their exporters (EXPORTERS).
METRICS_PATH = "/metrics"
SCRAPED: tuple[str, ...] = ("mcp", "claude-flow", "agenticos", "llama")
METRICS_KEYS: dict[str, str] = {"llama": "LLAMA_API_KEY"}


@dataclass(frozen=True)
class Exporter:
    """A monitoring-profile exporter as the Kubernetes monitoring component runs it: a sidecar
    container in the pods of the one service it reads (its compose depends_on), which it reaches on
    127.0.0.1, and whose pods it lives, moves and scales with. Its image, port and scrape job are its
    compose service's; its container and the Service Prometheus scrapes it through take its name."""

    name: str  # a MONITORING service
    # What its image's HEALTHCHECK asks: it answers while the exporter serves and asks nothing of
    # the store (a probe that did would take the store's pod out of its Service with it).
    probe_path: str

    @property
    def service(self) -> Service:
        return _named(self.name, MONITORING)

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def reads(self) -> str:
        """The service whose pods it joins."""
        (store,) = self.service.depends_on
        return store

    @property
    def health(self) -> HealthPaths:
        """What the kubelet's probes ask, every tier the one path."""
        return HealthPaths(live=self.probe_path, ready=self.probe_path, startup=self.probe_path)


EXPORTERS: tuple[Exporter, ...] = (
    Exporter("postgres-exporter", probe_path="/"),
    Exporter("redis-exporter", probe_path="/health"),
)


def exporter_named(name: str) -> Exporter | None:
    return next((exporter for exporter in EXPORTERS if exporter.name == name), None)


def kubernetes_scrape_ports() -> dict[str, int]:
    """The pods Prometheus scrapes on Kubernetes (the monitoring component), by the service they
    belong to, and the port of their /metrics: each SCRAPED service's own, and in the pods of a
    store its exporter's."""
    return {**{name: get(name).port for name in SCRAPED},
            **{exporter.reads: exporter.port for exporter in EXPORTERS}}


@dataclass(frozen=True)
class Job:
    """A Kubernetes CronJob that runs one service's image on a schedule (not a service: no port)."""

    name: str
    image: str  # the service whose image it runs
    description: str
    depends_on: tuple[str, ...] = ()


# k8s/base/postgres-backup.yaml: the same dump as `invoke db-backup`, to the postgres-backups claim.
JOBS: tuple[Job, ...] = (
    Job("postgres-backup", "postgres", "pg_dump of the database, checksum and manifest, to a claim",
        depends_on=("postgres",)),
)


@dataclass(frozen=True)
class ExtraImage:
    """An image that a Kubernetes component runs in place of a service's own image."""

    name: str  # <image_prefix>/<name>:<tag>, like a service's
    service: str  # the service it runs as
    target: str  # Dockerfile build target
    needs: str  # what its build needs beyond the stack's


# The gpu component (k8s/components/gpu) renames llama's image to llama-cuda.
EXTRA_IMAGES: tuple[ExtraImage, ...] = (
    ExtraImage("llama-cuda", "llama", "llama-cuda",
               "NVIDIA's CUDA base images (build arguments CUDA_DEVEL_IMAGE, CUDA_RUNTIME_IMAGE)"),
)


def image_names() -> list[str]:
    """Every image `invoke build` and `invoke push` know: the services', the exporters' (the
    monitoring component runs them beside postgres and redis), then the extra ones."""
    return [*names(), *(exporter.name for exporter in EXPORTERS), *(image.name for image in EXTRA_IMAGES)]


def extra_image(name: str) -> ExtraImage | None:
    return next((image for image in EXTRA_IMAGES if image.name == name), None)


def service_of(image: str) -> str:
    """The service an image runs as: its own name, or the service an extra image stands in for."""
    extra = extra_image(image)
    return extra.service if extra else image


def names() -> list[str]:
    return [service.name for service in SERVICES]


def _named(name: str, services: tuple[Service, ...] | list[Service]) -> Service:
    for service in services:
        if service.name == name:
            return service
    raise KeyError(f"unknown service {name!r}; valid: {', '.join(s.name for s in services)}")


def get(name: str) -> Service:
    return _named(name, SERVICES)


def stack_services() -> list[Service]:
    """Every service of the stack, in dependency order."""
    return list(SERVICES)


def compose_services(profiles: Iterable[str] | None = None) -> list[Service]:
    """The services of the compose file: the stack's, then those of `profiles` (default: every
    profile's)."""
    chosen = set(PROFILES if profiles is None else profiles)
    return [*SERVICES, *(service for service in MONITORING if service.profile in chosen)]


def compose_names() -> list[str]:
    return [service.name for service in compose_services()]


def compose_service(name: str) -> Service:
    return _named(name, compose_services())
