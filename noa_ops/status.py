"""`invoke status`: which release runs where, since when, and whether it is healthy now.

The release and its time come from the recorded history (.noa/releases/<env>/history.jsonl);
health is measured now by the environment's target (compose: the health probes; Kubernetes:
workload readiness).
`describe` decides from the history and is pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from invoke.context import Context

from . import probes, releases, targets
from .environments import Environment
from .errors import NoaError


@dataclass(frozen=True)
class Status:
    environment: str
    target: str
    state: str  # running | stopped | never deployed
    release: str = ""
    tag: str = ""
    action: str = ""  # deploy | rollback | auto-rollback | stop | purge
    since: str = ""
    passed_gate: bool | None = None  # did its deploy/rollback pass the health gate
    healthy_now: bool | None = None  # None: not measured (nothing runs, or no engine/cluster answered)
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def describe(env_name: str, target: str, events: list[releases.Event], tags: dict[str, str]) -> Status:
    """From the history of one environment on one target: what runs and since when."""
    latest = releases.current(events)
    if latest is None:
        return Status(env_name, target, "never deployed")
    if not latest.release:
        return Status(env_name, target, "stopped", action=latest.action, since=latest.at)
    # "since" is when this release started running: the first of the consecutive applies of it.
    since = latest.at
    for event in reversed(events):
        if event.release != latest.release:
            break
        since = event.at
    return Status(env_name, target, "running", latest.release, tags.get(latest.release, ""), latest.action,
                  since, latest.healthy, detail=latest.detail)


def measure(c: Context, env: Environment, status: Status) -> Status:
    """Add the health measured now to a running environment's status."""
    if status.state != "running":
        return status
    try:
        checks = targets.of(env).current_health(c, env)
    except NoaError as error:
        return replace(status, detail=str(error))
    verdict = probes.verdict(checks)
    detail = "" if verdict.ok else f"unhealthy: {', '.join(verdict.unhealthy)}"
    return replace(status, healthy_now=verdict.ok, detail=detail)


def of(c: Context, env: Environment) -> Status:
    events = releases.history(env.name, env.target)
    tags = {release.id: release.tag for release in releases.all_releases(env.name)
            if release.target == env.target}
    return measure(c, env, describe(env.name, env.target, events, tags))
