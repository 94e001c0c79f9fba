"""Deployment environments (dev, staging, prod): their defaults live in invoke.yaml.

An unknown name is refused before anything runs: the earlier deploy.sh silently
deployed production for any value it did not recognise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from invoke.context import Context

from . import catalogue, k8s_render, paths
from .errors import NoaError

TARGETS = ("compose", "kubernetes")
DEFAULT_HEALTH_TIMEOUT = 60
MAX_PORT_OFFSET = 50000  # the highest service port (9400) plus it stays below 65536


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Environment:
    name: str
    target: str  # "compose" or "kubernetes"
    project: str  # compose project name (docker compose -p)
    env_file: Path  # git-ignored file holding the environment's secrets
    image_prefix: str  # images are <image_prefix>/<service>:<tag>
    deploy_timeout: int  # the one deadline of deploy and rollback, in seconds
    health_timeout: int = DEFAULT_HEALTH_TIMEOUT  # compose: how long the health gate keeps probing
    registry: str = ""  # <host[:port]>/<path> that push sends to and Kubernetes pulls from
    kube_context: str = ""  # the only kubectl context Kubernetes verbs may use
    namespace: str = ""  # Kubernetes namespace (default noa-server-<name>)
    kube_variant: str = ""  # the folder k8s/variants/<kube_variant> a Kubernetes deploy applies
    port_offset: int = 0  # compose publishes each service on 127.0.0.1:<its port + port_offset>
    profiles: tuple[str, ...] = ()  # compose: the profiles a deploy brings up beside the stack

    @property
    def kube_namespace(self) -> str:
        return self.namespace or f"noa-server-{self.name}"

    def host_port(self, port: int) -> int:
        """Where compose publishes a service that listens on `port` in its container."""
        return port + self.port_offset


def plain(value: Any) -> Any:
    """Turn invoke's DataProxy config tree into plain dicts (it is no Mapping, so check for keys)."""
    if hasattr(value, "keys") and not isinstance(value, str | bytes):
        return {key: plain(value[key]) for key in value}
    return value


def shipped_variants() -> list[str]:
    """The folders of k8s/variants (a broken one is a one-line error, not a traceback)."""
    try:
        return [item.name for item in k8s_render.shipped()]
    except k8s_render.VariantError as error:
        raise NoaError(str(error)) from None


def profiles(where: str, raw: dict[str, Any]) -> tuple[str, ...]:
    """`profiles: [monitoring]`: compose profiles of docker/docker-compose.yml, named exactly."""
    value = raw.get("profiles") or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NoaError(f"{where}.profiles must be a list of compose profiles, e.g. [monitoring]")
    return known_profiles(value, f"{where}.profiles")


def known_profiles(names: list[str], what: str) -> tuple[str, ...]:
    unknown = [name for name in names if name not in catalogue.PROFILES]
    if unknown:
        raise NoaError(f"{what}: no compose profile {', '.join(unknown)}; "
                       f"valid: {', '.join(catalogue.PROFILES)}")
    return tuple(dict.fromkeys(names))


def port_offset(where: str, raw: dict[str, Any]) -> int:
    offset = raw.get("port_offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_PORT_OFFSET:
        raise NoaError(f"{where}.port_offset must be a whole number from 0 to {MAX_PORT_OFFSET}, "
                       f"not {offset!r}")
    return offset


def parse_environment(name: str, raw: Any) -> Environment:
    """Validate one environment's settings; a mistake in invoke.yaml is one line, not a traceback."""
    where = f"invoke.yaml noa.environments.{name}"
    if not isinstance(raw, dict):
        raise NoaError(f"{where} must be a mapping of settings")
    required = ("target", "project", "env_file", "image_prefix", "deploy_timeout")
    missing = [key for key in required if key not in raw]
    if missing:
        raise NoaError(f"{where} lacks {', '.join(missing)}")
    if raw["target"] not in TARGETS:
        raise NoaError(f"{where}.target is {raw['target']!r}; valid: {', '.join(TARGETS)}")
    for key in ("deploy_timeout", "health_timeout"):
        value = raw.get(key, DEFAULT_HEALTH_TIMEOUT)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise NoaError(f"{where}.{key} must be a positive number of seconds, not {value!r}")
    for key in ("project", "env_file", "image_prefix"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise NoaError(f"{where}.{key} must be a non-empty string")
    for key in ("registry", "kube_context", "namespace", "kube_variant"):
        if not isinstance(raw.get(key, ""), str):
            raise NoaError(f"{where}.{key} must be a string")
    if raw.get("namespace") and not DNS_LABEL.fullmatch(raw["namespace"]):
        raise NoaError(f"{where}.namespace is {raw['namespace']!r}: a namespace is a DNS label "
                       f"(at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)")
    if raw.get("kube_variant") and raw["kube_variant"] not in (shipped := shipped_variants()):
        raise NoaError(f"{where}.kube_variant is {raw['kube_variant']!r}, not a folder of k8s/variants; "
                       f"valid: {', '.join(shipped)}")
    return Environment(
        name=name,
        target=raw["target"],
        project=raw["project"],
        env_file=paths.under_root(Path(raw["env_file"])),
        image_prefix=raw["image_prefix"],
        deploy_timeout=raw["deploy_timeout"],
        registry=raw.get("registry", ""),
        kube_context=raw.get("kube_context", ""),
        namespace=raw.get("namespace", ""),
        kube_variant=raw.get("kube_variant", ""),
        health_timeout=raw.get("health_timeout", DEFAULT_HEALTH_TIMEOUT),
        port_offset=port_offset(where, raw),
        profiles=profiles(where, raw),
    )


def configured(c: Context) -> dict[str, Any]:
    """The raw `noa.environments` table of the invoke configuration."""
    tree = plain(c.config.get("noa", {})) or {}
    environments = tree.get("environments") if isinstance(tree, dict) else None
    if not isinstance(environments, dict) or not environments:
        raise NoaError("no environments configured: invoke.yaml at the repo root must define "
                       "noa.environments")
    return environments


def select(c: Context, name: str, target: str = "") -> Environment:
    """The environment called `name` (on `target` when given, else its configured one), or a
    one-line error naming the valid ones."""
    environments = configured(c)
    if name not in environments:
        raise NoaError(f"unknown environment {name!r}; valid: {', '.join(environments)}")
    if target and target not in TARGETS:
        raise NoaError(f"unknown target {target!r}; valid: {', '.join(TARGETS)}")
    selected = parse_environment(name, environments[name])
    return replace(selected, target=target) if target else selected
