"""A deploy is a release: what was applied, recorded per environment so it can be applied again.

Layout under the git-ignored state directory:

    .noa/releases/<env>/<id>/release.json    revision, image references and digests, time, outcome
    .noa/releases/<env>/<id>/compose.yaml    compose: the fully rendered `docker compose config`,
                                             images pinned to the image IDs that were deployed
    .noa/releases/<env>/<id>/manifests.yaml  kubernetes: the rendered overlay, images pinned by digest
    .noa/releases/<env>/history.jsonl        every apply (deploy, rollback) with its health result

The rendered files hold the environment's settings, secrets included (that is what makes a
rollback restore configuration, not only images): directories are 0700, files 0600.

What runs now is the last history event; the last good release is the newest event that passed
the health gate. Those decisions (`current`, `rollback_target`, `mask_secrets`) are pure.
"""

from __future__ import annotations

import difflib
import getpass
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from . import paths
from .clock import utc_now, utc_stamp
from .errors import NoaError
from .private_files import write_private
from .report import step

PENDING, HEALTHY, FAILED = "pending", "healthy", "failed"
DEPLOY, ROLLBACK, AUTO_ROLLBACK = "deploy", "rollback", "auto-rollback"
COMPOSE_FILE = "compose.yaml"
MANIFESTS_FILE = "manifests.yaml"


def now() -> str:
    return utc_stamp()


def operator_name() -> str:
    """Who runs the task, for release records and locks (a UID without a passwd entry: the number)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


@dataclass
class Release:
    id: str
    environment: str
    target: str
    tag: str  # the git revision the images were built from (`-dirty`: uncommitted changes)
    images: dict[str, str]  # service -> the pinned reference applied (image ID or repo@digest)
    sources: dict[str, str]  # service -> the reference it was resolved from (noa/mcp:<tag>, ...)
    rendered: str  # file name of the rendered config in the release directory
    created: str = field(default_factory=now)
    user: str = field(default_factory=operator_name)
    host: str = field(default_factory=socket.gethostname)
    outcome: str = PENDING
    finished: str = ""
    detail: str = ""  # e.g. which services failed the health gate

    @property
    def revision(self) -> str:
        return self.tag.removesuffix("-dirty")


@dataclass(frozen=True)
class Event:
    release: str
    action: str  # deploy | rollback | auto-rollback
    at: str
    healthy: bool
    detail: str = ""
    target: str = "compose"


def env_dir(env_name: str, state: Path | None = None) -> Path:
    """<ROOT>/.noa/releases/<env> (or `state`/<env>)."""
    return (state or paths.state("releases")) / env_name


def release_dir(env_name: str, release_id: str, state: Path | None = None) -> Path:
    return env_dir(env_name, state) / release_id


def rendered_path(release: Release, state: Path | None = None) -> Path:
    return release_dir(release.environment, release.id, state) / release.rendered


def new_id(tag: str, existing: Iterable[str], stamp: datetime | None = None) -> str:
    """Sortable and unique: <UTC time>-<tag>, with a counter when two land in the same second."""
    moment = stamp or utc_now()
    base = f"{moment:%Y%m%dT%H%M%SZ}-{tag}"
    taken = set(existing)
    candidate, counter = base, 1
    while candidate in taken:
        counter += 1
        candidate = f"{base}.{counter}"
    return candidate


def create(env_name: str, target: str, tag: str, *, images: dict[str, str], sources: dict[str, str],
           rendered_text: str, state: Path | None = None) -> Release:
    """Record a new release (outcome pending) with its rendered configuration."""
    filename = COMPOSE_FILE if target == "compose" else MANIFESTS_FILE
    release = Release(new_id(tag, release_ids(env_name, state)), env_name, target, tag, images, sources,
                      filename)
    write_private(rendered_path(release, state), rendered_text)
    save(release, state)
    return release


def save(release: Release, state: Path | None = None) -> None:
    path = release_dir(release.environment, release.id, state) / "release.json"
    write_private(path, json.dumps(asdict(release), indent=2) + "\n")


def finish(release: Release, outcome: str, detail: str = "", state: Path | None = None) -> None:
    release.outcome, release.finished, release.detail = outcome, now(), detail
    save(release, state)


def release_ids(env_name: str, state: Path | None = None) -> list[str]:
    directory = env_dir(env_name, state)
    if not directory.is_dir():
        return []
    return sorted(child.name for child in directory.iterdir() if (child / "release.json").is_file())


def load(env_name: str, release_id: str, state: Path | None = None) -> Release:
    path = release_dir(env_name, release_id, state) / "release.json"
    try:
        data = json.loads(path.read_text())
        return Release(**data)
    except FileNotFoundError:
        known = release_ids(env_name, state)
        listed = ", ".join(known[-5:]) if known else "none yet"
        raise NoaError(f"no release {release_id!r} of {env_name}; recent: {listed}") from None
    except (ValueError, TypeError) as error:  # not JSON, not an object, or not a release's fields
        raise NoaError(f"release {release_id} of {env_name} cannot be read ({paths.shown(path)}: "
                       f"{type(error).__name__}); roll back to another one with --to") from None


def all_releases(env_name: str, state: Path | None = None) -> list[Release]:
    """The readable releases, oldest first; one that cannot be read is named once and left out."""
    found = []
    for release_id in release_ids(env_name, state):
        try:
            found.append(load(env_name, release_id, state))
        except NoaError as error:
            step("releases", f"skipped: {error}")
    return found


def record(env_name: str, event: Event, state: Path | None = None) -> None:
    path = env_dir(env_name, state) / "history.jsonl"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(asdict(event)) + "\n")


def history(env_name: str, target: str | None = None, state: Path | None = None) -> list[Event]:
    """Every apply and stop of an environment, oldest first; only those on `target` when given."""
    path = env_dir(env_name, state) / "history.jsonl"
    if not path.is_file():
        return []
    events, unreadable = [], 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            events.append(Event(**json.loads(line)))
        except (ValueError, TypeError):  # a line cut short by a crash, or edited by hand
            unreadable += 1
    if unreadable:
        step("releases", f"skipped {unreadable} unreadable line(s) of {paths.shown(path)}")
    return [event for event in events if target is None or event.target == target]


def target_release_ids(env_name: str, target: str, state: Path | None = None) -> list[str]:
    return [release.id for release in all_releases(env_name, state) if release.target == target]


def current(events: Sequence[Event]) -> Event | None:
    """What runs now: the last release applied, whatever its health."""
    return events[-1] if events else None


def rollback_target(events: Sequence[Event], known: Sequence[str], *, away_from: str | None,
                    to: str = "") -> str:
    """The release a rollback applies: `to` when given (it must exist), else the newest release that
    passed the health gate and is not `away_from` (the one being rolled back). ValueError says why
    there is none."""
    if to:
        if to not in known:
            recent = ", ".join(known[-5:]) if known else "none yet"
            raise ValueError(f"no release {to!r}; recent: {recent}")
        return to
    for event in reversed(events):
        if event.healthy and event.release != away_from and event.release in known:
            return event.release
    raise ValueError("no earlier release passed its health gate")


# `KEY: value` (YAML mapping) or `KEY=value` (list form) for a secret's name.
def mask_secrets(text: str, names: Iterable[str]) -> str:
    """Replace secret values by a short fingerprint, so a diff shows that one changed, not what to."""
    alternatives = "|".join(re.escape(name) for name in names)
    if not alternatives:
        return text
    pattern = re.compile(rf"^(\s*-?\s*[\"']?(?:{alternatives})[\"']?\s*[:=]\s*)(.+)$", re.MULTILINE)

    def fingerprint(match: re.Match[str]) -> str:
        value = match.group(2).strip().strip("'\"")
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        return f"{match.group(1)}<secret sha256:{digest}>"

    return pattern.sub(fingerprint, text)


def diff(old: str, new: str, old_name: str, new_name: str, secret_names: Iterable[str]) -> str:
    """A unified diff of two rendered configurations with the secrets masked; "" when equal."""
    names = list(secret_names)
    lines = difflib.unified_diff(
        mask_secrets(old, names).splitlines(keepends=True),
        mask_secrets(new, names).splitlines(keepends=True),
        fromfile=old_name, tofile=new_name,
    )
    return "".join(lines)
