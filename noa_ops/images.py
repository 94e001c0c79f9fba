"""Image tags and image builds.

A tag is the short git revision, with `-dirty` when the work tree has changes, so
an image always says which source it was built from.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from invoke.context import Context
from invoke.exceptions import Exit

from . import catalogue, compose
from .environments import Environment
from .shell import run, run_checked

WHEELHOUSE_SCRIPT = "scripts/build-wheelhouse"
REVISION_LENGTH = 12
# A repository without a commit yet still builds; its images say so.
NO_COMMIT = "0" * 7


DIRTY_SUFFIX = "-dirty"


def image_tag(revision: str, dirty: bool) -> str:
    return f"{revision}{DIRTY_SUFFIX}" if dirty else revision


def is_dirty(tag: str) -> bool:
    return tag.endswith(DIRTY_SUFFIX)


def git_revision(c: Context) -> str:
    result = run(c, f"git rev-parse --short={REVISION_LENGTH} HEAD", hide=True)
    if result.ok:
        return result.stdout.strip()
    if run(c, "git rev-parse --is-inside-work-tree", hide=True).ok:
        return NO_COMMIT
    raise Exit("cannot tag images: not a git checkout (the tag is the git revision)")


def tree_is_dirty(c: Context) -> bool:
    # Untracked files count: they can be part of the build context. Ignored files do not.
    return bool(run_checked(c, "git status --porcelain", "git status", hide=True).stdout.strip())


def current_tag(c: Context | None = None) -> str:
    """The tag images built from this work tree get (integration tests use it too)."""
    context = c if c is not None else Context()
    return image_tag(git_revision(context), tree_is_dirty(context))


def image_name(env: Environment, service: str, tag: str) -> str:
    return f"{env.image_prefix}/{service}:{tag}"


def select_services(requested: Iterable[str]) -> list[str]:
    """Validate --service names against the catalogue; none given means the whole stack."""
    stack = [service.name for service in catalogue.stack_services()]
    wanted = list(dict.fromkeys(requested))
    unknown = [name for name in wanted if name not in catalogue.names()]
    if unknown:
        raise Exit(f"unknown service {', '.join(unknown)}; valid: {', '.join(stack)}")
    outside = [name for name in wanted if name not in stack]
    if outside:
        raise Exit(f"{', '.join(outside)} is not part of the compose stack yet; valid: {', '.join(stack)}")
    # Catalogue (dependency) order, whatever order the flags came in.
    return [name for name in stack if name in wanted] if wanted else stack


def missing_images(c: Context, env: Environment, services: Iterable[str], tag: str) -> list[str]:
    """The services whose image for this tag is not in the local engine."""
    missing = []
    for service in services:
        image = image_name(env, service, tag)
        if run(c, f"docker image inspect --format '{{{{.Id}}}}' {image}", hide=True).failed:
            missing.append(service)
    return missing


def build(c: Context, env: Environment, services: list[str], tag: str) -> None:
    """Fill the wheelhouse on the host (builds never fetch), then build the images for `tag`."""
    # The interpreter running invoke lives in a virtualenv, so it has pip; Debian's own
    # python3 may not.
    run_checked(c, WHEELHOUSE_SCRIPT, "building the wheelhouse", env={"PYTHON": sys.executable}, echo=True)
    run_checked(
        c,
        compose.build(env, services),
        "docker compose build",
        # Without buildx, compose warns that it cannot use Bake, then builds with BuildKit
        # anyway: ask for that builder directly.
        env={**compose.image_variables(env, tag), "COMPOSE_BAKE": "false"},
        echo=True,
    )
