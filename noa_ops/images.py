"""Image tags and image builds.

A tag is the short git revision, with `-dirty` when the work tree has changes, so
an image always says which source it was built from.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from invoke.context import Context

from . import catalogue, models, paths
from . import compose_commands as compose
from .clock import utc_stamp
from .environments import Environment
from .errors import NoaError
from .shell import run, run_checked

WHEELHOUSE_SCRIPT = "scripts/build-wheelhouse"
LLAMA_SOURCE_SCRIPT = "scripts/fetch-llama-source"
LLAMA = "llama"
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
    raise NoaError("cannot tag images: not a git checkout (the tag is the git revision)")


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
    """Validate --service names against the catalogue (the stack's, and the monitoring profile's
    by name); none given means the stack."""
    known = catalogue.compose_names()
    wanted = list(dict.fromkeys(requested))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise NoaError(f"unknown service {', '.join(unknown)}; valid: {', '.join(known)}")
    # Catalogue (dependency) order, whatever order the flags came in.
    return [name for name in known if name in wanted] if wanted else catalogue.names()


def select_images(requested: Iterable[str]) -> list[str]:
    """--service names for build and push: a service, or an extra image such as llama-cuda (only when
    named); none given means every service of the stack."""
    known = catalogue.image_names()
    wanted = list(dict.fromkeys(requested))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise NoaError(f"unknown service {', '.join(unknown)}; valid: {', '.join(known)}")
    return [name for name in known if name in wanted] if wanted else catalogue.names()


def extra_build(env: Environment, name: str, tag: str) -> str:
    """`docker build` of an image that is no compose service (it never runs under compose)."""
    image = catalogue.extra_image(name)
    assert image is not None, name
    return shlex.join(["docker", "build", "--file", "docker/Dockerfile", "--target", image.target,
                       "--tag", image_name(env, name, tag), "--build-arg", f"NOA_VERSION={tag}", "."])


def image_id(c: Context, reference: str) -> str | None:
    """The local image ID (sha256:..., the digest of its configuration) of a reference; None if absent."""
    result = run(c, f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(reference)}", hide=True)
    return result.stdout.strip() if result.ok and result.stdout.strip() else None


def missing_images(c: Context, env: Environment, services: Iterable[str], tag: str) -> list[str]:
    """The services whose image for this tag is not in the local engine."""
    return [service for service in services if image_id(c, image_name(env, service, tag)) is None]


def supports_buildkit(version: str, server_os: str) -> bool:
    """BuildKit is part of Linux engines from 18.09 on; older or other engines get the classic builder."""
    numbers = [int(part) for part in re.findall(r"\d+", version)[:2]]
    return server_os.lower() == "linux" and len(numbers) == 2 and tuple(numbers) >= (18, 9)


def builder_variables(c: Context) -> dict[str, str]:
    """DOCKER_BUILDKIT for compose: 1 when the engine offers BuildKit, 0 (the classic builder) otherwise."""
    answer = run(c, "docker version --format '{{.Server.Version}} {{.Server.Os}}'", hide=True)
    version, _, server_os = answer.stdout.strip().partition(" ") if answer.ok else ("", "", "")
    return {"DOCKER_BUILDKIT": "1" if supports_buildkit(version, server_os) else "0"}


def record_path(tag: str) -> Path:
    """Image IDs of each build and digests of each push of a tag (git-ignored state)."""
    return paths.state("builds", f"{tag}.json")


def load_record(tag: str) -> dict[str, Any]:
    """What `build` and `push` recorded for a tag: images (service -> ID) and pushed (registry -> digests)."""
    path = record_path(tag)
    if not path.is_file():
        return {"tag": tag, "images": {}, "pushed": {}}
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
        loaded.setdefault("images", {})
    except (ValueError, AttributeError):  # not JSON, or not an object
        raise NoaError(f"{paths.shown(path)} cannot be read: delete it, then `invoke build` (and `invoke "
                       f"push`) again for {tag}") from None
    loaded.setdefault("pushed", {})
    return loaded


def save_record(record: dict[str, Any]) -> None:
    path = record_path(str(record["tag"]))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def record_build(c: Context, env: Environment, services: Iterable[str], tag: str) -> dict[str, str]:
    """Record the image ID of each built image (.noa/builds/<tag>.json); service -> ID."""
    record = load_record(tag)
    stamp = utc_stamp()
    ids: dict[str, str] = {}
    for service in services:
        reference = image_name(env, service, tag)
        found = image_id(c, reference)
        if found is None:
            raise NoaError(f"build: {reference} is missing after the build; rerun "
                       f"`invoke build --service {service}`")
        ids[service] = found
        record["images"][service] = {"reference": reference, "id": found, "built": stamp}
    save_record(record)
    return ids


def build(c: Context, env: Environment, services: list[str], tag: str) -> None:
    """Fill the wheelhouse on the host (builds never fetch), then build the images for `tag`.

    With llama: its pinned llama.cpp source too, and the default model into the host cache
    (build/models), so a deploy right after needs nothing from the network.
    """
    # The interpreter running invoke lives in a virtualenv, so it has pip; Debian's own
    # python3 may not.
    run_checked(c, WHEELHOUSE_SCRIPT, "building the wheelhouse", env={"PYTHON": sys.executable}, echo=True)
    if LLAMA in {catalogue.service_of(name) for name in services}:
        run_checked(c, LLAMA_SOURCE_SCRIPT, "fetching the llama.cpp source", env={"PYTHON": sys.executable},
                    echo=True)
        models.fetch_default(c)
    # The compose file's services (the stack's and the monitoring profile's); the rest are extra images.
    known = catalogue.compose_names()
    stack = [name for name in services if name in known]
    builder = builder_variables(c)
    if stack:
        run_checked(
            c,
            compose.build(env, stack),
            "docker compose build",
            # Without buildx, compose warns that it cannot use Bake, then builds with BuildKit
            # anyway: ask for that builder directly.
            env={**compose.image_variables(env, tag), "COMPOSE_BAKE": "false", **builder},
            echo=True,
        )
    for image in (catalogue.extra_image(name) for name in services if name not in stack):
        assert image is not None  # select_images let only known names through
        run_checked(c, extra_build(env, image.name, tag), f"building {image.name} (it needs {image.needs})",
                    env=builder, echo=True)
