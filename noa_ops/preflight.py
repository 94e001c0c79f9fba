"""What must hold before a verb touches the stack; each failure is one line saying what to do."""

from __future__ import annotations

from invoke.context import Context

from . import envcheck, envfile
from .environments import Environment
from .errors import NoaError
from .report import step
from .shell import run


def require_engine(c: Context) -> None:
    if run(c, "docker info --format '{{.ServerVersion}}'", hide=True).failed:
        raise NoaError("no Docker engine answers: start one with scripts/start-engine")
    if run(c, "docker compose version --short", hide=True).failed:
        raise NoaError("docker compose v2 is missing: install it with scripts/install-compose-plugin")


def complete_env_file(env: Environment, verb: str) -> None:
    """Add the generated secrets an older file lacks (new ones in the catalogue); refuse a file that
    lacks the Postgres password, which lives on in the database volume."""
    added = envfile.complete(env.env_file)
    if added:
        step(verb, f"added {', '.join(added)} to {env.env_file} (fresh random values)")
    missing = envfile.missing_secrets(env.env_file)
    if missing:
        raise NoaError(
            f"{env.env_file} lacks {', '.join(missing)}: add them, or replace the file with "
            f"`invoke env-init --env {env.name} --force`"
        )


def ensure_env_file(env: Environment, verb: str) -> None:
    """Create the secrets file on first use; complete an older one."""
    if envfile.ensure(env.env_file, env.name):
        step(verb, f"created {env.env_file} with fresh random secrets (mode 0600)")
        return
    complete_env_file(env, verb)


def require_env_file(env: Environment, verb: str = "health") -> None:
    """Verbs on a running stack need the file it was deployed with (compose interpolates it)."""
    if not env.env_file.exists():
        raise NoaError(
            f"{env.env_file} is missing, so {env.name} was never deployed from this checkout: "
            f"`invoke deploy --env {env.name}` creates it"
        )
    # compose interpolates every ${SECRET:?} of the file, so even `down` needs the new ones.
    complete_env_file(env, verb)


def require_complete_env_file(env: Environment, verb: str) -> None:
    """For verbs that only read: the file must be there with every secret, and is never changed."""
    if not env.env_file.exists():
        raise NoaError(f"{verb}: {env.env_file} is missing, and {verb} writes nothing: "
                       f"`invoke deploy --env {env.name}` (or `invoke env-init --env {env.name}`) creates it")
    missing = envfile.missing_secrets(env.env_file)
    if missing:
        raise NoaError(f"{verb}: {env.env_file} lacks {', '.join(missing)}, and {verb} writes nothing: "
                       f"`invoke deploy --env {env.name}` adds them")


def prepare(c: Context, env: Environment, verb: str) -> None:
    """Checks shared by build and deploy."""
    require_engine(c)
    ensure_env_file(env, verb)


# Environments whose secrets must pass the production rules before a deploy (env-check's rules).
STRICT = ("staging", "prod")


def require_valid_env_file(env: Environment, verb: str) -> None:
    """The env file must pass `invoke env-check` for its environment before anything changes: in
    every environment no value the services would refuse (a number out of range, a misspelt
    boolean: they would start and never be ready); staging/prod also the production rules (no
    placeholder or weak secret).

    A Kubernetes environment without an env file takes its secrets from the cluster (External or
    Sealed Secrets), so there is nothing local to check; a missing dev file is written by deploy.
    """
    if not env.env_file.is_file():
        if env.name in STRICT and env.target != "kubernetes":
            raise NoaError(f"{verb}: {env.env_file} is missing: write it with "
                           f"`invoke env-init --env {env.name}`")
        return
    failed = [f.variable for f in envcheck.check_file(env.env_file, env.name) if f.failed]
    if failed:
        raise NoaError(
            f"{verb}: {env.env_file} fails the {env.name} rules ({', '.join(failed)}); "
            f"see `invoke env-check --env {env.name}`, fix them, then deploy again (nothing was changed)"
        )
