"""What must hold before a verb touches the stack; each failure is one line saying what to do."""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit

from . import envfile
from .environments import Environment, require_available
from .report import step
from .shell import run


def require_engine(c: Context) -> None:
    if run(c, "docker info --format '{{.ServerVersion}}'", hide=True).failed:
        raise Exit("no Docker engine answers: start one with scripts/start-engine")
    if run(c, "docker compose version --short", hide=True).failed:
        raise Exit("docker compose v2 is missing: install it with scripts/install-compose-plugin")


def ensure_env_file(env: Environment, verb: str) -> None:
    """Create the secrets file on first use; refuse one that lacks a secret."""
    if envfile.ensure(env.env_file, env.name):
        step(verb, f"created {env.env_file} with fresh random secrets (mode 0600)")
        return
    missing = envfile.missing_secrets(env.env_file)
    if missing:
        raise Exit(
            f"{env.env_file} lacks {', '.join(missing)}: add them, or replace the file with "
            f"`invoke env-init --env {env.name} --force`"
        )


def require_env_file(env: Environment) -> None:
    """Verbs on a running stack need the file it was deployed with (compose interpolates it)."""
    if not env.env_file.exists():
        raise Exit(
            f"{env.env_file} is missing, so {env.name} was never deployed from this checkout: "
            f"`invoke deploy --env {env.name}` creates it"
        )


def prepare(c: Context, env: Environment, verb: str) -> None:
    """Checks shared by build and deploy."""
    require_available(env, verb)
    require_engine(c)
    ensure_env_file(env, verb)
