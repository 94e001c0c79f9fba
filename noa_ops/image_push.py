"""Push images to a registry, with retries, and record the digests the registry gave them.

`<image_prefix>/<service>:<tag>` is tagged `<registry>/<service>:<tag>` and pushed; the manifest
digest the push reports is recorded in .noa/builds/<tag>.json under the registry, as
`<registry>/<service>@sha256:...`. Kubernetes deploys pin exactly those references.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable

from invoke.context import Context

from . import images
from .environments import Environment
from .errors import NoaError
from .report import step
from .shell import run

ATTEMPTS = 3
BACKOFF = 2.0  # seconds before the second attempt; doubled for each further one
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
_REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$")


def validate_registry(registry: str) -> str:
    """`host[:port][/path]`, no scheme and no trailing slash; one line saying what is wrong."""
    cleaned = registry.strip().rstrip("/")
    if not cleaned:
        raise NoaError("push: no registry: pass --registry HOST[:PORT][/PATH] or set registry in invoke.yaml")
    if "://" in cleaned or not _REGISTRY.match(cleaned):
        raise NoaError(f"push: registry {registry!r} is not HOST[:PORT][/PATH], e.g. 127.0.0.1:5000/noa")
    return cleaned


def remote_name(registry: str, service: str, tag: str) -> str:
    return f"{registry}/{service}:{tag}"


def pushed_digest(output: str) -> str | None:
    """The manifest digest from `docker push` output (`<tag>: digest: sha256:... size: N`)."""
    found = _DIGEST.findall(output)
    return found[-1] if found else None


def push_one(c: Context, reference: str, *, attempts: int = ATTEMPTS,
             sleep: Callable[[float], None] = time.sleep) -> str:
    """Push with retries; the digest the registry stored."""
    pause = BACKOFF
    for attempt in range(1, attempts + 1):
        result = run(c, f"docker push {shlex.quote(reference)}", hide=True)
        digest = pushed_digest(result.stdout) if result.ok else None
        if digest:
            return digest
        reason = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
        if attempt < attempts:
            step("push", f"{reference}: attempt {attempt} failed ({reason}); retrying in {pause:.0f} s")
            sleep(pause)
            pause *= 2
        else:
            raise NoaError(f"push: {reference} failed {attempts} times ({reason}); check that the registry "
                       f"answers and accepts pushes, then run `invoke push` again")
    raise AssertionError("unreachable")


def push_or_untag(c: Context, remote: str, sleep: Callable[[float], None]) -> str:
    """push_one; a push that fails takes the registry tag it needed off the engine again."""
    try:
        return push_one(c, remote, sleep=sleep)
    except NoaError:
        run(c, f"docker image rm {shlex.quote(remote)}", hide=True)
        raise


def push(c: Context, env: Environment, services: list[str], tag: str, *, registry: str,
         sleep: Callable[[float], None] = time.sleep) -> dict[str, str]:
    """Tag and push each service's image; record and return service -> <registry>/<service>@<digest>."""
    missing = images.missing_images(c, env, services, tag)
    if missing:
        raise NoaError(f"push: no image for tag {tag} of {', '.join(missing)}: run `invoke build` first")
    record = images.load_record(tag)
    pushed: dict[str, str] = {}
    for service in services:
        local = images.image_name(env, service, tag)
        remote = remote_name(registry, service, tag)
        tagged = run(c, f"docker tag {shlex.quote(local)} {shlex.quote(remote)}", hide=True)
        if tagged.failed:
            raise NoaError(f"push: docker tag {local} {remote} failed: {tagged.stderr.strip()}")
        step("push", f"pushing {remote}")
        digest = push_or_untag(c, remote, sleep)
        pushed[service] = f"{registry}/{service}@{digest}"
        record["pushed"].setdefault(registry, {})[service] = pushed[service]
        images.save_record(record)
    return pushed
