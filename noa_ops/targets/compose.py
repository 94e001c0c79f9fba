"""The compose target: the stack of an environment as one `docker compose` project.

A release is the rendered `docker compose config` (env file and image tags interpolated), every
image pinned to the image ID it resolves to now, stored under .noa/releases/<env>/<id>/. Applying
it is `docker compose -p <project> -f <stored file> up -d --wait`, then the health probes of
noa_ops/probes.py. Rendering, pinning and probing decide; the rest acts through Context.run.
The cycle itself (record, gate, roll back) is noa_ops/release_cycle.py.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterable
from typing import Any

import yaml
from invoke.context import Context

from .. import catalogue, envfile, images, models, probes, releases
from .. import compose_commands as compose
from .. import logs as service_logs
from ..environments import Environment
from ..errors import NoaError
from ..preflight import prepare, require_complete_env_file, require_engine, require_env_file
from ..report import out, print_health, step
from ..settings_catalogue import SECRET_VARIABLES
from ..shell import run, run_checked
from . import DeployRequest, LineParser, Outcome, Rendered

# The Target protocol (noa_ops/targets/__init__.py): this module is the compose target.
name = "compose"
good_word = "healthy"
bad_word = "unhealthy"
data_kind = "volumes"
# Seconds between two `up` attempts while a restarting service may still recover in time.
RETRY_PAUSE = 5.0
# A container restarted this often since the deploy began crash-loops: waiting longer changes nothing.
CRASH_LOOP_RESTARTS = 3
# Seconds db-restore waits for the stack to be healthy again after it restarted the writers.
RESUME_TIMEOUT = 180
Clock = Callable[[], float]
Sleep = Callable[[float], None]


def ensure_images(c: Context, env: Environment, tag: str, services: list[str] | None = None) -> None:
    """Build the images this tag lacks; an existing clean tag is reused as it is.

    A `-dirty` tag names no fixed source (the tree may have changed since it was built),
    so it is always rebuilt; the build cache keeps that quick when nothing changed.
    """
    if services is None:
        services = [service.name for service in catalogue.stack_services()]
    if not services:
        return
    if images.is_dirty(tag):
        step("deploy", f"building {', '.join(services)} for tag {tag} (uncommitted changes)")
        images.build(c, env, services, tag)
        return
    missing = images.missing_images(c, env, services, tag)
    if not missing:
        step("deploy", f"images {env.image_prefix}/*:{tag} present")
        return
    step("deploy", f"building {', '.join(missing)} for tag {tag}")
    images.build(c, env, missing, tag)


def parse_service_images(values: Iterable[str]) -> dict[str, str]:
    """`--service-image SERVICE=IMAGE` flags: service names checked against the stack."""
    stack = [service.name for service in catalogue.stack_services()]
    chosen: dict[str, str] = {}
    for value in values:
        service, separator, reference = value.partition("=")
        if not separator or not service or not reference:
            raise NoaError(f"--service-image {value!r}: expected SERVICE=IMAGE, e.g. "
                           f"mcp=noa/mcp:1a2b3c4d5e6f")
        if service not in stack:
            raise NoaError(f"--service-image: unknown service {service}; valid: {', '.join(stack)}")
        chosen[service] = reference
    return chosen


def pin_images(config: dict[str, Any], overrides: dict[str, str],
               resolve: Callable[[str], str | None]) -> tuple[dict[str, str], dict[str, str]]:
    """Point every service of a rendered config at the image ID its reference resolves to now.

    Changes `config` in place; returns (sources, pinned): service -> the reference it came from,
    service -> the ID applied. A reference that resolves to nothing is one line naming it.
    """
    sources: dict[str, str] = {}
    pinned: dict[str, str] = {}
    for name, service in (config.get("services") or {}).items():
        reference = overrides.get(name, str(service.get("image", "")))
        resolved = resolve(reference)
        if resolved is None:
            raise NoaError(f"deploy: image {reference} of {name} is not in the engine: build it "
                           f"(`invoke build`) or load it, then deploy again")
        service["image"] = resolved
        sources[name], pinned[name] = reference, resolved
    return sources, pinned


def dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=1000)


def render_config(c: Context, env: Environment, tag: str, *, hot_reload: bool = False,
                  profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    """`docker compose config`: the repo's compose file(s) with the env file, the values derived from
    it (API_CLIENTS) and the image tag interpolated; the stack and the services of `profiles`."""
    derived = envfile.derived_values(envfile.read_values(env.env_file))
    result = run_checked(c, compose.config(env, hot_reload=hot_reload, profiles=profiles),
                         "docker compose config", env={**compose.image_variables(env, tag), **derived},
                         hide=True)
    loaded = yaml.safe_load(result.stdout)
    if not isinstance(loaded, dict) or not loaded.get("services"):
        raise NoaError("deploy: docker compose config printed no services; check docker/docker-compose.yml")
    return publish_on(without_profiles(loaded), env)


def without_profiles(config: dict[str, Any]) -> dict[str, Any]:
    """The release runs what it holds: a service rendered with its profile loses the `profiles` key,
    which would make `up` of the stored file skip it (changes `config`, returns it)."""
    for service in config["services"].values():
        service.pop("profiles", None)
    return config


def publish_on(config: dict[str, Any], env: Environment) -> dict[str, Any]:
    """Move every published port by the environment's port_offset (changes `config`, returns it)."""
    for service in config["services"].values():
        for port in service.get("ports") or []:
            if isinstance(port, dict) and port.get("published"):
                port["published"] = str(env.host_port(int(port["published"])))
    return config


def secrets_source(env: Environment) -> str | None:
    """Compose reads every secret from the env file."""
    return None


def restored_secrets(env: Environment) -> str:
    return "secrets included, as the release recorded them from the env file"


def apply_release(c: Context, env: Environment, release: releases.Release, *, timeout: int,
                  clock: Clock | None = None, sleep: Sleep | None = None) -> Outcome:
    """Apply a release's stored file, then the health gate, all within `timeout` seconds.

    `up --wait` fails as soon as a container exits or is unhealthy; while the deadline allows it is
    tried again, so a service that restarts and recovers in time passes. A container this deploy
    created that has failed for certain (crash_loops) ends the wait at once, in `up` or in the gate.
    """
    clock, sleep = clock or time.monotonic, sleep or time.sleep
    deadline = clock() + timeout
    command_file = releases.rendered_path(release)
    earlier = container_ids(c, env)
    while True:
        remaining = max(1, round(deadline - clock()))
        started = run(c, compose.up_release(env.project, command_file, timeout=remaining), echo=True)
        if started.ok or deadline - clock() <= RETRY_PAUSE:
            break
        if failed := crash_loops(c, env, earlier):
            return certain_failure(failed)
        step("deploy", f"not every service is up yet; trying again ({int(deadline - clock())} s left)")
        sleep(RETRY_PAUSE)
    budget = min(env.health_timeout, max(0.0, deadline - clock()))
    found: dict[str, str] = {}

    def give_up() -> bool:
        found.update(crash_loops(c, env, earlier))
        return bool(found)

    checks = probes.wait_until_healthy(c, env, budget=budget, sleep=sleep, clock=clock, give_up=give_up)
    if found:
        return certain_failure(found, checks)
    result = probes.verdict(checks)
    return Outcome(result.ok, result.unhealthy, tuple(checks))


def certain_failure(failed: dict[str, str], checks: Iterable[probes.Check] = ()) -> Outcome:
    reasons = "; ".join(failed.values())
    step("deploy", f"not waiting for the deadline: {reasons}")
    return Outcome(False, tuple(failed), tuple(checks), detail=reasons)


def container_ids(c: Context, env: Environment) -> set[str]:
    """The IDs of the project's containers, running or not."""
    label = f"label=com.docker.compose.project={env.project}"
    listed = run(c, f"docker ps -aq --no-trunc --filter {shlex.quote(label)}", hide=True)
    return set(listed.stdout.split()) if listed.ok else set()


def crash_loops(c: Context, env: Environment, earlier: set[str]) -> dict[str, str]:
    """service -> why, for each container created since `earlier` was listed that has failed for
    certain: restarted CRASH_LOOP_RESTARTS times, exited non-zero with no restart policy, or could
    not be started at all."""
    created = sorted(container_ids(c, env) - earlier)
    if not created:
        return {}
    inspected = run(c, f"docker inspect {shlex.join(created)}", hide=True)
    try:
        containers = json.loads(inspected.stdout) if inspected.ok else []
    except json.JSONDecodeError:
        return {}
    reasons = {service_of(container): crash_loop(container) for container in containers}
    return {service: reason for service, reason in reasons.items() if reason}


def service_of(container: dict[str, Any]) -> str:
    return str(((container.get("Config") or {}).get("Labels") or {}).get("com.docker.compose.service", "?"))


def crash_loop(container: dict[str, Any]) -> str | None:
    """Why this container (one object of `docker inspect`) has failed for certain, or None."""
    state = container.get("State") or {}
    service, exit_code = service_of(container), state.get("ExitCode")
    last = f"last exit code {exit_code}" + (" (out of memory)" if state.get("OOMKilled") else "")
    if state.get("Error"):
        return f"{service} could not start: {state['Error']}"
    restarts = int(container.get("RestartCount") or 0)
    if restarts >= CRASH_LOOP_RESTARTS:
        # Running again after a restart, the engine shows exit code 0: not the crash's.
        since = f"{service} crash-loops: restarted {restarts} times since the deploy began"
        return since if state.get("Status") == "running" else f"{since}, {last}"
    policy = ((container.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
    if state.get("Status") == "exited" and exit_code not in (0, None) and policy == "no":
        return f"{service} exited and is not restarted, {last}"
    return None


def show_failure(c: Context, env: Environment, outcome: Outcome) -> None:
    print_health(list(outcome.checks), probes.verdict(outcome.checks), env.name)
    step("deploy", f"last log lines of {', '.join(outcome.unhealthy)}:")
    run(c, compose.logs(env, outcome.unhealthy))


def check_release(c: Context, release: releases.Release, verb: str) -> None:
    """Every image a release pins must still be in the engine (a prune may have removed it)."""
    for service, pinned in release.images.items():
        if images.image_id(c, pinned) is None:
            source = release.sources.get(service, "")
            raise NoaError(f"{verb}: image {pinned[:19]}… of {service} ({source}) in release {release.id} is "
                       f"gone from the engine: rebuild that revision, or roll back to another release "
                       f"with --to")


def show_arrival(env: Environment, outcome: Outcome | None = None) -> None:
    """The URLs an operator opens next: the dashboard first, then each published service (a
    profile's, Prometheus and Alertmanager, when the deploy checked it)."""
    ui = catalogue.get("ui")
    step("dashboard", f"http://127.0.0.1:{env.host_port(ui.port)}{ui.index}")
    checked = {check.service for check in outcome.checks} if outcome else set()
    for service in catalogue.compose_services():
        if service.profile and service.name not in checked:
            continue
        if service.published and service.name != ui.name:
            step(service.name, f"http://127.0.0.1:{env.host_port(service.port)}{service.index}")


def show_config_diff(c: Context, env: Environment, tag: str, overrides: dict[str, str], *,
                     hot_reload: bool, profiles: tuple[str, ...] = ()) -> None:
    """--dry-run: the rendered config against what runs now, secrets masked; nothing is changed."""
    config = render_config(c, env, tag, hot_reload=hot_reload, profiles=profiles)

    def resolve(reference: str) -> str:
        return images.image_id(c, reference) or f"{reference} (not built yet: deploy builds it)"

    pin_images(config, overrides, resolve)
    new = dump(config)
    running = releases.current(releases.history(env.name, "compose"))
    if running is None or not running.release:
        step("deploy", f"dry run: no release of {env.name} is running; this configuration would be applied:")
        out.print(releases.mask_secrets(new, SECRET_VARIABLES), markup=False, highlight=False)
        return
    old = releases.rendered_path(releases.load(env.name, running.release)).read_text()
    changes = releases.diff(old, new, f"release {running.release} (running)", f"{tag} (this deploy)",
                            SECRET_VARIABLES)
    if not changes:
        step("deploy", f"dry run: nothing would change; release {running.release} already runs this")
        return
    step("deploy", f"dry run: what would change against release {running.release} (nothing was changed):")
    out.print(changes, markup=False, highlight=False, end="")


def stored_data(c: Context, env: Environment) -> list[str]:
    """The project's named volumes: what `stop --purge` deletes."""
    listed = run_checked(c, compose.volumes(env), "docker volume ls", hide=True)
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def postgres_exec(env: Environment) -> list[str]:
    return [*shlex.split(compose.base(env)), "exec", "-T", "postgres"]


def pause_writers(c: Context, env: Environment, services: list[str]) -> None:
    run_checked(c, f"{compose.base(env)} stop {shlex.join(services)}", "docker compose stop", echo=True)


def resume_writers(c: Context, env: Environment, services: list[str]) -> None:
    run_checked(c, f"{compose.base(env)} start {shlex.join(services)}", "docker compose start", echo=True)
    deadline = time.monotonic() + RESUME_TIMEOUT
    while not (result := probes.verdict(probes.check_stack(c, env))).ok:
        if time.monotonic() > deadline:
            raise NoaError(f"{', '.join(result.unhealthy)} not healthy {RESUME_TIMEOUT} s after the restart; "
                           f"see `invoke logs --env {env.name}`")
        time.sleep(1)


def halt(c: Context, env: Environment, doomed: list[str] | None) -> str:
    """`docker compose down`, with --volumes when `doomed` (the data) goes too."""
    run_checked(c, compose.down(env, volumes=doomed is not None), "docker compose down", echo=True)
    return f"{env.project} stopped; " + ("volumes deleted" if doomed is not None else "volumes kept")


def render_release(c: Context, env: Environment, request: DeployRequest) -> Rendered:
    """Build what the tag lacks, put the model in place, render and pin: the release to record."""
    tag = images.current_tag(c)
    built = [service.name for service in catalogue.compose_services(request.profiles)
             if service.name not in request.service_images]
    ensure_images(c, env, tag, built)
    # llama mounts the models volume read-only and cannot load what is not there.
    step("deploy", models.ensure_for_deploy(c, env))
    config = render_config(c, env, tag, hot_reload=request.hot_reload, profiles=request.profiles)
    sources, pinned = pin_images(config, request.service_images, lambda ref: images.image_id(c, ref))
    return Rendered(tag, dump(config), pinned, sources)


def follow_logs(c: Context, env: Environment, services: list[str], *, tail: int,
                since: str) -> tuple[str, LineParser]:
    chosen = images.select_services(services)
    return compose.follow_logs(env, chosen, tail=tail, since=since), service_logs.parse_compose_line


def current_health(c: Context, env: Environment) -> list[probes.Check]:
    if run(c, "docker info --format '{{.ServerVersion}}'", hide=True).failed:
        raise NoaError("no Docker engine answers")
    return probes.check_stack(c, env)


def parse_request(service_images: Iterable[str], hot_reload: bool,
                  profiles: tuple[str, ...] = ()) -> DeployRequest:
    return DeployRequest(parse_service_images(service_images), hot_reload, profiles)


def preflight_deploy(c: Context, env: Environment) -> None:
    prepare(c, env, "deploy")


def preflight(c: Context, env: Environment, verb: str) -> None:
    require_engine(c)
    require_env_file(env, verb)


def preflight_read(c: Context, env: Environment, verb: str) -> None:
    require_engine(c)
    require_complete_env_file(env, verb)


def show_plan(c: Context, env: Environment, request: DeployRequest) -> None:
    show_config_diff(c, env, images.current_tag(c), request.service_images, hot_reload=request.hot_reload,
                     profiles=request.profiles)


def where(env: Environment) -> str:
    return env.project


def show_success(c: Context, env: Environment, outcome: Outcome) -> None:
    print_health(list(outcome.checks), probes.verdict(outcome.checks), env.name)


def health(c: Context, env: Environment) -> list[probes.Check]:
    return probes.check_stack(c, env)


def log_lines(c: Context, env: Environment, services: list[str], *, tail: int,
              since: str) -> list[service_logs.LogLine]:
    return service_logs.collect(c, env, images.select_services(services), tail=tail, since=since)
