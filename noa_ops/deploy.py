"""Deploy and stop the compose stack of an environment."""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit

from . import catalogue, compose, health, images
from .environments import Environment, require_available
from .preflight import prepare, require_engine, require_env_file
from .report import print_health, step
from .shell import run, run_checked


def ensure_images(c: Context, env: Environment, tag: str) -> None:
    """Build the images this tag lacks; an existing clean tag is reused as it is.

    A `-dirty` tag names no fixed source (the tree may have changed since it was built),
    so it is always rebuilt; the build cache keeps that quick when nothing changed.
    """
    services = [service.name for service in catalogue.stack_services()]
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


def deploy(c: Context, env: Environment, *, hot_reload: bool = False, timeout: int | None = None) -> None:
    """Bring the stack up and prove it healthy; Exit naming the unhealthy services otherwise."""
    prepare(c, env, "deploy")
    tag = images.current_tag(c)
    ensure_images(c, env, tag)
    wait = timeout or env.deploy_timeout
    step("deploy", f"starting {env.project} with images tagged {tag} (waiting up to {wait} s)")
    started = run(
        c,
        compose.up(env, timeout=wait, hot_reload=hot_reload),
        env=compose.image_variables(env, tag),
        echo=True,
    )
    # After a failed `up`, one probe is enough to name what is wrong.
    budget = env.health_timeout if started.ok else 0
    checks = health.wait_until_healthy(c, env, budget=budget)
    result = health.verdict(checks)
    print_health(checks, result, env.name)
    if not result.ok:
        step("deploy", f"last log lines of {', '.join(result.unhealthy)}:")
        run(c, compose.logs(env, result.unhealthy))
        raise Exit(
            f"deploy: {env.name} is unhealthy: {', '.join(result.unhealthy)} "
            f"(logs above; recheck with `invoke health --env {env.name}`)"
        )
    if started.failed:
        raise Exit(f"deploy: docker compose up failed (exit {started.exited}) though every check passed")
    step("deploy", f"{env.name} is up and healthy ({tag})")


def stop(c: Context, env: Environment) -> None:
    """Remove the containers and network; named volumes (the data) stay."""
    require_available(env, "stop")
    require_engine(c)
    require_env_file(env)
    run_checked(c, compose.down(env), "docker compose down", echo=True)
    step("stop", f"{env.project} stopped; volumes kept")
