"""Deploy, roll back and stop the compose stack of an environment. A deploy is a release.

deploy: render `docker compose config` (env file and image tags interpolated), pin every image to
the image ID it resolves to now, store that file as a release (.noa/releases/<env>/<id>/), then
apply exactly the stored file (`docker compose -p <project> -f <stored file> up -d --wait`) and
wait for every service under one deadline. A failure rolls back to the last good release by
applying its stored file the same way. Rendering, pinning and choosing decide; `apply_release`
and friends act through Context.run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from invoke.context import Context
from invoke.exceptions import Exit

from . import catalogue, compose, health, images, locking, models, recovery, releases
from .environments import Environment, require_available
from .preflight import prepare, require_engine, require_env_file, require_strong_secrets
from .report import out, print_health, step
from .settings_catalogue import env_catalogue
from .shell import run, run_checked

# Seconds between two `up` attempts while a restarting service may still recover in time.
RETRY_PAUSE = 5.0
SECRET_NAMES: tuple[str, ...] = tuple(item.name for item in env_catalogue.VARIABLES if item.secret)
Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    checks: list[health.Check]
    unhealthy: tuple[str, ...]


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
            raise Exit(f"--service-image {value!r}: expected SERVICE=IMAGE, e.g. mcp=noa/mcp:1a2b3c4d5e6f")
        if service not in stack:
            raise Exit(f"--service-image: unknown service {service}; valid: {', '.join(stack)}")
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
            raise Exit(f"deploy: image {reference} of {name} is not in the engine: build it (`invoke build`) "
                       f"or load it, then deploy again")
        service["image"] = resolved
        sources[name], pinned[name] = reference, resolved
    return sources, pinned


def dump(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=1000)


def render(c: Context, env: Environment, tag: str, *, hot_reload: bool = False) -> dict[str, Any]:
    """`docker compose config`: the repo's compose file(s) with the env file and image tag interpolated."""
    result = run_checked(c, compose.config(env, hot_reload=hot_reload), "docker compose config",
                         env=compose.image_variables(env, tag), hide=True)
    loaded = yaml.safe_load(result.stdout)
    if not isinstance(loaded, dict) or not loaded.get("services"):
        raise Exit("deploy: docker compose config printed no services; check docker/docker-compose.yml")
    return loaded


def apply_release(c: Context, env: Environment, release: releases.Release, *, timeout: int,
                  clock: Clock | None = None, sleep: Sleep | None = None) -> Outcome:
    """Apply a release's stored file, then the health gate, all within `timeout` seconds.

    `up --wait` fails as soon as a container exits or is unhealthy; while the deadline allows it is
    tried again, so a service that restarts and recovers in time passes.
    """
    clock, sleep = clock or time.monotonic, sleep or time.sleep
    deadline = clock() + timeout
    command_file = releases.rendered_path(release)
    while True:
        remaining = max(1, round(deadline - clock()))
        started = run(c, compose.up_release(env.project, command_file, timeout=remaining), echo=True)
        if started.ok or deadline - clock() <= RETRY_PAUSE:
            break
        step("deploy", f"not every service is up yet; trying again ({int(deadline - clock())} s left)")
        sleep(RETRY_PAUSE)
    budget = min(env.health_timeout, max(0.0, deadline - clock()))
    checks = health.wait_until_healthy(c, env, budget=budget, sleep=sleep, clock=clock)
    result = health.verdict(checks)
    return Outcome(result.ok, checks, result.unhealthy)


def show_failure(c: Context, env: Environment, outcome: Outcome) -> None:
    print_health(outcome.checks, health.verdict(outcome.checks), env.name)
    step("deploy", f"last log lines of {', '.join(outcome.unhealthy)}:")
    run(c, compose.logs(env, outcome.unhealthy))


def require_pinned_images(c: Context, release: releases.Release, verb: str) -> None:
    """Every image a release pins must still be in the engine (a prune may have removed it)."""
    for service, pinned in release.images.items():
        if images.image_id(c, pinned) is None:
            source = release.sources.get(service, "")
            raise Exit(f"{verb}: image {pinned[:19]}… of {service} ({source}) in release {release.id} is "
                       f"gone from the engine: rebuild that revision, or roll back to another release "
                       f"with --to")


def roll_back_to(c: Context, env: Environment, target: str, action: str, timeout: int) -> Outcome:
    release = releases.load(env.name, target)
    if release.target != "compose":
        raise Exit(f"rollback: release {target} was deployed to {release.target}, not compose")
    require_pinned_images(c, release, "rollback")
    step("rollback", f"applying release {target} ({release.tag}) of {env.name}")
    outcome = apply_release(c, env, release, timeout=timeout)
    releases.record(env.name, releases.Event(target, action, releases.now(), outcome.ok,
                                             ", ".join(outcome.unhealthy), "compose"))
    return outcome


def deploy(c: Context, env: Environment, *, hot_reload: bool = False, timeout: int | None = None,
           dry_run: bool = False, rollback: bool = True, service_images: Iterable[str] = ()) -> None:
    """Deploy the current revision as a new release; roll back to the last good one if it fails."""
    overrides = parse_service_images(service_images)
    prepare(c, env, "deploy")
    require_strong_secrets(env, "deploy")
    tag = images.current_tag(c)
    wait = timeout or env.deploy_timeout
    if dry_run:
        show_plan(c, env, tag, overrides, hot_reload=hot_reload)
        return
    with locking.hold(env.name, "deploy"):
        built = [s.name for s in catalogue.stack_services() if s.name not in overrides]
        ensure_images(c, env, tag, built)
        # llama mounts the models volume read-only and cannot load what is not there.
        step("deploy", models.ensure_for_deploy(c, env))
        config = render(c, env, tag, hot_reload=hot_reload)
        sources, pinned = pin_images(config, overrides, lambda ref: images.image_id(c, ref))
        release = releases.create(env.name, "compose", tag, images=pinned, sources=sources,
                                  rendered_text=dump(config))
        step("deploy", f"release {release.id}: starting {env.project} (deadline {wait} s)")
        outcome = apply_release(c, env, release, timeout=wait)
        conclude(c, env, release, outcome, rollback=rollback, timeout=wait)


def conclude(c: Context, env: Environment, release: releases.Release, outcome: Outcome, *,
             rollback: bool, timeout: int) -> None:
    """Record the outcome; on failure show why, roll back (unless told not to) and exit non-zero."""
    detail = ", ".join(outcome.unhealthy)
    releases.finish(release, releases.HEALTHY if outcome.ok else releases.FAILED, detail)
    releases.record(env.name, releases.Event(release.id, releases.DEPLOY, releases.now(), outcome.ok, detail,
                                             "compose"))
    if outcome.ok:
        print_health(outcome.checks, health.verdict(outcome.checks), env.name)
        step("deploy", f"{env.name} is up and healthy: release {release.id}")
        show_where_to_look()
        return
    show_failure(c, env, outcome)
    recovery.recover(env.name, "compose", release.id,
                     f"deploy: release {release.id} of {env.name} failed its health gate ({detail})",
                     rollback=rollback, good_word="healthy",
                     roll_back_to=lambda good: roll_back_to(c, env, good, releases.AUTO_ROLLBACK, timeout),
                     show_failure=lambda restored: show_failure(c, env, restored))


def show_where_to_look() -> None:
    """The URLs an operator opens next: the dashboard first, then each published service."""
    ui = catalogue.get("ui")
    step("dashboard", f"http://127.0.0.1:{ui.port}/")
    for service in catalogue.stack_services():
        if service.published and service.name != ui.name:
            step(service.name, f"http://127.0.0.1:{service.port}/")


def show_plan(c: Context, env: Environment, tag: str, overrides: dict[str, str], *, hot_reload: bool) -> None:
    """--dry-run: the rendered config against what runs now, secrets masked; nothing is changed."""
    config = render(c, env, tag, hot_reload=hot_reload)

    def resolve(reference: str) -> str:
        return images.image_id(c, reference) or f"{reference} (not built yet: deploy builds it)"

    pin_images(config, overrides, resolve)
    new = dump(config)
    running = releases.current(releases.history(env.name, "compose"))
    if running is None or not running.release:
        step("deploy", f"dry run: no release of {env.name} is running; this configuration would be applied:")
        out.print(releases.mask_secrets(new, SECRET_NAMES), markup=False, highlight=False)
        return
    old = releases.rendered_path(releases.load(env.name, running.release)).read_text()
    changes = releases.diff(old, new, f"release {running.release} (running)", f"{tag} (this deploy)",
                            SECRET_NAMES)
    if not changes:
        step("deploy", f"dry run: nothing would change; release {running.release} already runs this")
        return
    step("deploy", f"dry run: what would change against release {running.release} (nothing was changed):")
    out.print(changes, markup=False, highlight=False, end="")


def rollback(c: Context, env: Environment, *, to: str = "", timeout: int | None = None) -> None:
    """Apply the last good release (or `to`) again, then the health gate."""
    require_engine(c)
    require_env_file(env, "rollback")
    events = releases.history(env.name, "compose")
    running = releases.current(events)
    try:
        target = releases.rollback_target(events, releases.target_release_ids(env.name, "compose"),
                                          away_from=running.release if running else None, to=to)
    except ValueError as error:
        raise Exit(f"rollback: {error} for {env.name}; see `invoke status --env {env.name}`") from None
    with locking.hold(env.name, "rollback"):
        outcome = roll_back_to(c, env, target, releases.ROLLBACK, timeout or env.deploy_timeout)
    if not outcome.ok:
        show_failure(c, env, outcome)
        raise Exit(f"rollback: release {target} of {env.name} is unhealthy ({', '.join(outcome.unhealthy)}); "
                   f"logs above; `invoke rollback --env {env.name} --to <release>` tries another")
    print_health(outcome.checks, health.verdict(outcome.checks), env.name)
    step("rollback", f"{env.name} runs release {target} and is healthy")


def stop(c: Context, env: Environment, *, purge: bool = False, yes: bool = False) -> None:
    """Remove the containers and network; named volumes (the data) stay unless --purge --yes."""
    require_available(env, "stop")
    require_engine(c)
    require_env_file(env, "stop")
    if purge:
        listed = run_checked(c, compose.volumes(env), "docker volume ls", hide=True)
        names = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
        shown = ", ".join(names) if names else "none exist"
        step("stop", f"--purge deletes the volumes of {env.project} and all their data: {shown}")
        if not yes:
            raise Exit("stop: --purge deletes data; run again with --purge --yes to confirm "
                       "(nothing was changed)")
    with locking.hold(env.name, "stop"):
        run_checked(c, compose.down(env, volumes=purge), "docker compose down", echo=True)
        releases.record(env.name, releases.Event("", "purge" if purge else "stop", releases.now(), False,
                                                 target="compose"))
    step("stop", f"{env.project} stopped; " + ("volumes deleted" if purge else "volumes kept"))
