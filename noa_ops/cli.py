"""The invoke tasks: each parses its flags, calls one function and prints the result.

Docstrings and flag help are the documentation shown by `invoke --help <task>`.
Long flags only: an automatic `-h` for --hot-reload would shadow help.
"""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from . import deploy as deploy_stack
from . import envfile, environments, images, preflight
from . import health as stack_health
from .report import print_health, print_json, step

ENV_HELP = "environment from invoke.yaml: dev, staging or prod (default: dev)"


@task(
    auto_shortflags=False,
    iterable=["service"],
    help={
        "env": ENV_HELP,
        "service": "NAME: build only this service; repeat for several, e.g. --service mcp --service ui "
        "(default: the whole stack)",
    },
)
def build(c: Context, env: str = "dev", service: list[str] | None = None) -> None:
    """Build the stack's images, tagged with the git revision (`-dirty` for a changed tree).

    Runs scripts/build-wheelhouse (the images install Python packages offline from it),
    then `docker compose build` with NOA_IMAGE_TAG set. Images are
    <image_prefix>/<service>:<tag>, e.g. noa/mcp:1a2b3c4d5e6f.
    """
    selected = environments.select(c, env)
    services = images.select_services(service or [])
    preflight.prepare(c, selected, "build")
    tag = images.current_tag(c)
    images.build(c, selected, services, tag)
    step("build", f"built {', '.join(services)} as {selected.image_prefix}/<service>:{tag}")


@task(
    auto_shortflags=False,
    help={
        "env": ENV_HELP,
        "hot-reload": "also apply docker/docker-compose.dev.yml (service source mounted, reload on change)",
        "timeout": "seconds `docker compose up --wait` may take (default: invoke.yaml deploy_timeout, 600)",
    },
)
def deploy(c: Context, env: str = "dev", hot_reload: bool = False, timeout: int = 0) -> None:
    """Deploy an environment and prove it healthy.

    Checks the engine, creates the env file with random secrets if missing, builds the
    images for the current git revision if they are not there, runs
    `docker compose up -d --wait`, then probes every service (as `invoke health` does).
    Exits non-zero naming the unhealthy services, with their last log lines.
    """
    selected = environments.select(c, env)
    if timeout < 0:
        raise Exit(f"--timeout must be a positive number of seconds, not {timeout}")
    deploy_stack.deploy(c, selected, hot_reload=hot_reload, timeout=timeout or None)


@task(
    auto_shortflags=False,
    help={
        "env": ENV_HELP,
        "json": "print the result as JSON on stdout instead of a table",
    },
)
def health(c: Context, env: str = "dev", json: bool = False) -> None:
    """Probe every service of a running environment once.

    HTTP services: /health, /health/ready and /health/startup on 127.0.0.1:<port>, with
    latency. Postgres and Redis: their container's Docker health. Exits non-zero when any
    check fails, naming the unhealthy services.
    """
    selected = environments.select(c, env)
    environments.require_available(selected, "health")
    preflight.require_engine(c)
    preflight.require_env_file(selected)
    checks = stack_health.check_stack(c, selected)
    result = stack_health.verdict(checks)
    if json:
        print_json(stack_health.as_json(selected, checks))
    else:
        print_health(checks, result, selected.name)
    if not result.ok:
        raise Exit(f"health: {selected.name} is unhealthy: {', '.join(result.unhealthy)}")


@task(auto_shortflags=False, help={"env": ENV_HELP})
def stop(c: Context, env: str = "dev") -> None:
    """Stop an environment: `docker compose down` WITHOUT -v.

    Containers and the project network are removed; the named volumes (postgres-data,
    redis-data) and so all data are kept for the next deploy.
    """
    deploy_stack.stop(c, environments.select(c, env))


@task(
    auto_shortflags=False,
    help={
        "env": ENV_HELP,
        "force": "replace an existing file (Postgres keeps its old password in its volume)",
    },
)
def env_init(c: Context, env: str = "dev", force: bool = False) -> None:
    """Write the environment's secrets file (e.g. .noa/dev.env) with fresh random values.

    POSTGRES_PASSWORD and REDIS_PASSWORD, 32 random characters each, mode 0600,
    git-ignored; values are never printed. Refuses to overwrite without --force.
    `invoke deploy` creates the file itself when it is missing.
    """
    selected = environments.select(c, env)
    try:
        envfile.write(selected.env_file, selected.name, force=force)
    except FileExistsError:
        raise Exit(
            f"{selected.env_file} exists; pass --force to replace it "
            f"(the database volume keeps the old password)"
        ) from None
    step("env-init", f"wrote {selected.env_file} ({', '.join(envfile.SECRET_NAMES)}; mode 0600)")
