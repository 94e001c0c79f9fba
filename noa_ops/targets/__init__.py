"""Where an environment runs: one `Target` protocol, one module per target.

Each target is a module whose functions and constants implement the protocol (mypy checks it).
The CLI asks `of(env)` for the environment's target and calls the same methods whatever it is;
what every target shares (a deploy is a release, the health gate, recovery by rollback) is written
once in noa_ops/release_cycle.py. compose: noa_ops/targets/compose.py; kubernetes:
noa_ops/targets/kubernetes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from invoke.context import Context

from ..environments import Environment
from ..logs import LogLine
from ..probes import Check
from ..releases import Release

# A line of a followed log stream -> the parsed line, or None for a line that is not a log line.
LineParser = Callable[[str], LogLine | None]


@dataclass(frozen=True)
class DeployRequest:
    """What the operator asked a deploy for, beyond the environment."""

    service_images: dict[str, str] = field(default_factory=dict)  # service -> image to run instead
    hot_reload: bool = False
    profiles: tuple[str, ...] = ()  # compose profiles brought up beside the stack (monitoring)


@dataclass(frozen=True)
class Rendered:
    """A release before it is recorded: the exact text to apply, images pinned."""

    tag: str
    text: str
    images: dict[str, str]  # service -> pinned reference (image ID or repo@digest)
    sources: dict[str, str]  # service -> the reference it was resolved from


@dataclass(frozen=True)
class Outcome:
    """The health gate's answer for an applied release."""

    ok: bool
    unhealthy: tuple[str, ...]  # services or workloads that did not pass (or "apply")
    checks: tuple[Check, ...] = ()
    detail: str = ""


class Target(Protocol):
    name: str  # as invoke.yaml spells it: compose | kubernetes
    good_word: str  # what a release that passed the gate is: healthy | ready
    bad_word: str  # and one that did not: unhealthy | not ready

    def parse_request(self, service_images: Iterable[str], hot_reload: bool,
                      profiles: tuple[str, ...] = ()) -> DeployRequest: ...

    def preflight_deploy(self, c: Context, env: Environment) -> None: ...

    def preflight(self, c: Context, env: Environment, verb: str) -> None:
        """Before a verb changes what runs (rollback)."""

    def preflight_read(self, c: Context, env: Environment, verb: str) -> None:
        """Before a verb reads what runs (health, logs)."""

    def show_plan(self, c: Context, env: Environment, request: DeployRequest) -> None: ...

    def render_release(self, c: Context, env: Environment, request: DeployRequest) -> Rendered: ...

    def where(self, env: Environment) -> str:
        """Where a release goes, for progress lines: `noa-dev`, `noa-staging/noa-server-staging`."""

    def check_release(self, c: Context, release: Release, verb: str) -> None:
        """Refuse a recorded release that can no longer be applied here."""

    def apply_release(self, c: Context, env: Environment, release: Release, *, timeout: int) -> Outcome: ...

    def show_failure(self, c: Context, env: Environment, outcome: Outcome) -> None: ...

    def show_success(self, c: Context, env: Environment, outcome: Outcome) -> None: ...

    def secrets_source(self, env: Environment) -> str | None:
        """None when a deploy takes the secrets from the env file; else where they come from."""
        ...

    def restored_secrets(self, env: Environment) -> str:
        """What applying a stored release again does to the secrets, said to the operator."""
        ...

    def show_arrival(self, env: Environment, outcome: Outcome) -> None:
        """After a successful deploy: where to look next."""

    def health(self, c: Context, env: Environment) -> list[Check]:
        """Every check `invoke health` shows."""

    def current_health(self, c: Context, env: Environment) -> list[Check]:
        """The cheaper checks `invoke status` shows; NoaError when nothing answers."""

    data_kind: str  # what holds the data: volumes | PVCs

    def stored_data(self, c: Context, env: Environment) -> list[str]:
        """The names of what `stop --purge` deletes."""

    def postgres_exec(self, env: Environment) -> list[str]:
        """The command prefix that runs a program in the environment's postgres container (stdin open)."""
        ...

    def pause_writers(self, c: Context, env: Environment, services: list[str]) -> None:
        """Stop the services that write to the database (db-restore), keeping everything else."""
        ...

    def resume_writers(self, c: Context, env: Environment, services: list[str]) -> None:
        """Start them again and wait until the environment is healthy."""
        ...

    def halt(self, c: Context, env: Environment, doomed: list[str] | None) -> str:
        """Stop what runs (and delete `doomed`, unless None); the line that says what happened."""

    def log_lines(self, c: Context, env: Environment, services: list[str], *, tail: int,
                  since: str) -> list[LogLine]:
        """The services' recent lines (all services when `services` is empty), unmerged."""

    def follow_logs(self, c: Context, env: Environment, services: list[str], *, tail: int,
                    since: str) -> tuple[str, LineParser]:
        """The command that streams the services' lines, and the parser of its output lines."""


def of(env: Environment) -> Target:
    """The target an environment runs on (invoke.yaml, or --target): the module of that name."""
    from . import compose, kubernetes

    known: dict[str, Target] = {compose.name: compose, kubernetes.name: kubernetes}
    return known[env.target]
