"""The docker compose command lines, built in one place.

Every compose call names the project, the file(s) and the env file explicitly, so
nothing depends on the working directory's .env or on COMPOSE_* variables.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from . import catalogue, paths
from .environments import Environment

LOG_TAIL = 40


def base(env: Environment, *, hot_reload: bool = False, profiles: Iterable[str] | None = None) -> str:
    """`docker compose -p <project> -f <file> [-f <dev file>] --env-file <file> --profile ...`.

    Every profile by default: `down`, `ps`, `logs`, `stop` and `start` then reach the monitoring
    profile's containers too (compose leaves a disabled profile's containers alone); `config`
    names the profiles a release asked for.
    """
    files = [paths.COMPOSE_FILE, paths.HOT_RELOAD_FILE] if hot_reload else [paths.COMPOSE_FILE]
    words = ["docker", "compose", "-p", env.project]
    for file in files:
        words += ["-f", str(file)]
    words += ["--env-file", paths.shown(env.env_file)]
    for profile in catalogue.PROFILES if profiles is None else profiles:
        words += ["--profile", profile]
    return shlex.join(words)


def image_variables(env: Environment, tag: str) -> dict[str, str]:
    """What the compose file reads to name images: ${NOA_IMAGE_PREFIX}/<service>:${NOA_IMAGE_TAG}."""
    return {"NOA_IMAGE_PREFIX": env.image_prefix, "NOA_IMAGE_TAG": tag}


def _with_services(command: str, services: Iterable[str]) -> str:
    names = list(services)
    return f"{command} {shlex.join(names)}" if names else command


def build(env: Environment, services: Iterable[str], *, no_cache: bool = False) -> str:
    """`build` of the services; `no_cache`: every layer built again (the cache is neither read nor
    cleared)."""
    return _with_services(f"{base(env)} build" + (" --no-cache" if no_cache else ""), services)


def config(env: Environment, *, hot_reload: bool = False, profiles: Iterable[str] = ()) -> str:
    """The fully rendered configuration (env file and image variables interpolated): the stack's
    services and those of `profiles`."""
    return f"{base(env, hot_reload=hot_reload, profiles=profiles)} config"


def up_release(project: str, rendered: Path, *, timeout: int) -> str:
    """Apply a release's stored rendered file: nothing else (no env file, no repo compose file) is read.

    Images are built (or found) before this runs: compose must neither build nor try a registry."""
    words = ["docker", "compose", "-p", project, "-f", paths.shown(rendered), "up", "-d", "--wait",
             "--wait-timeout", str(timeout), "--no-build", "--pull", "never", "--remove-orphans"]
    return shlex.join(words)


def down(env: Environment, *, volumes: bool = False) -> str:
    # Without -v: the named volumes (postgres-data, redis-data) and their data are kept.
    return f"{base(env)} down --remove-orphans" + (" --volumes" if volumes else "")


def volumes(env: Environment) -> str:
    """The project's named volumes, one name per line."""
    label = f"label=com.docker.compose.project={env.project}"
    return f"docker volume ls --filter {shlex.quote(label)} --format '{{{{.Name}}}}'"


def _tail(lines: int) -> str:
    return str(lines) if lines >= 0 else "all"


def service_logs(env: Environment, service: str, *, tail: int, since: str = "") -> str:
    """One service's log lines, each prefixed by the engine's RFC 3339 timestamp."""
    words = ["logs", "--no-color", "--no-log-prefix", "--timestamps", "--tail", _tail(tail)]
    if since:
        words += ["--since", since]
    return f"{base(env)} {shlex.join([*words, service])}"


def follow_logs(env: Environment, services: Iterable[str], *, tail: int, since: str = "") -> str:
    """Every named service's lines as they come, prefixed `<service>-<n>  | <timestamp> `."""
    words = ["logs", "--no-color", "--timestamps", "--follow", "--tail", _tail(tail)]
    if since:
        words += ["--since", since]
    return _with_services(f"{base(env)} {shlex.join(words)}", services)


def ps(env: Environment) -> str:
    return f"{base(env)} ps --all --format json"


def logs(env: Environment, services: Iterable[str], tail: int = LOG_TAIL) -> str:
    return _with_services(f"{base(env)} logs --no-color --tail {tail}", services)
