"""A deploy is a release, the same on every target: record it, apply it, gate it, recover.

deploy: the target renders the release (images pinned), it is recorded under .noa/releases/<env>/,
applied, and held to the health gate under one deadline; a release that fails the gate is rolled
back to the last release that passed (unless --no-rollback), and the deploy exits non-zero either
way, saying whether the environment is back on a good release. rollback: the same apply and gate
for a recorded release. Which release to go back to is decided by releases.rollback_target (pure).
"""

from __future__ import annotations

from typing import NoReturn

from invoke.context import Context

from . import locking, releases
from .environments import Environment
from .errors import NoaError
from .preflight import require_valid_env_file
from .report import step
from .targets import DeployRequest, Outcome, Target


def deploy(c: Context, target: Target, env: Environment, request: DeployRequest, *, timeout: int | None,
           dry_run: bool, rollback: bool) -> None:
    """Deploy the current revision as a new release; roll back to the last good one if it fails."""
    if dry_run:  # reads only: nothing is created, completed or applied
        target.preflight_read(c, env, "deploy --dry-run")
        require_valid_env_file(env, "deploy")
        target.show_plan(c, env, request)
        return
    target.preflight_deploy(c, env)
    require_valid_env_file(env, "deploy")
    wait = timeout or env.deploy_timeout
    with locking.hold(env.name, "deploy"):
        rendered = target.render_release(c, env, request)
        release = releases.create(env.name, target.name, rendered.tag, images=rendered.images,
                                  sources=rendered.sources, rendered_text=rendered.text)
        step("deploy", f"release {release.id}: applying to {target.where(env)} (deadline {wait} s)")
        outcome = target.apply_release(c, env, release, timeout=wait)
        detail = why(outcome)
        releases.finish(release, releases.HEALTHY if outcome.ok else releases.FAILED, detail)
        record(target, env, release.id, releases.DEPLOY, outcome)
        if outcome.ok:
            target.show_success(c, env, outcome)
            step("deploy", f"{env.name} is up and {target.good_word}: release {release.id}")
            target.show_arrival(env, outcome)
            return
        target.show_failure(c, env, outcome)
        recover(c, target, env, release.id, f"deploy: release {release.id} of {env.name} failed its health "
                f"gate ({detail})", rollback=rollback, timeout=wait)


def why(outcome: Outcome) -> str:
    """What the release log says about an outcome: what failed, and why when the target knows."""
    return ", ".join(outcome.unhealthy) + (f": {outcome.detail}" if outcome.detail else "")


def record(target: Target, env: Environment, release_id: str, action: str, outcome: Outcome) -> None:
    releases.record(env.name, releases.Event(release_id, action, releases.now(), outcome.ok, why(outcome),
                                             target.name))


def recover(c: Context, target: Target, env: Environment, release_id: str, failed: str, *, rollback: bool,
            timeout: int) -> NoReturn:
    """Roll back from the failed release `release_id` (unless told not to), then exit non-zero.

    `failed` is the one-line reason the release failed.
    """
    if not rollback:
        raise NoaError(f"{failed}; not rolled back (--no-rollback): `invoke rollback --env {env.name}` "
                       f"restores the last good release")
    try:
        good = releases.rollback_target(releases.history(env.name, target.name),
                                        releases.target_release_ids(env.name, target.name),
                                        away_from=release_id)
    except ValueError as error:
        raise NoaError(f"{failed}; {error}, so nothing to roll back to: fix it (see above) and deploy "
                       f"again") from None
    restored = roll_back_to(c, target, env, good, action=releases.AUTO_ROLLBACK, timeout=timeout)
    if restored.ok:
        raise NoaError(f"{failed}; rolled back to {good}, which is {target.good_word} (see above for why it "
                       f"failed)")
    target.show_failure(c, env, restored)
    raise NoaError(f"{failed}; the rollback to {good} failed too ({', '.join(restored.unhealthy)}): "
                   f"see `invoke logs --env {env.name}` and `invoke status --env {env.name}`")


def roll_back_to(c: Context, target: Target, env: Environment, release_id: str, *, action: str,
                 timeout: int) -> Outcome:
    """Apply the recorded release `release_id` again and record how it went."""
    release = releases.load(env.name, release_id)
    if release.target != target.name:
        raise NoaError(f"rollback: release {release_id} was deployed to {release.target}, not {target.name}")
    target.check_release(c, release, "rollback")
    step("rollback", f"applying release {release_id} ({release.tag}) to {target.where(env)}: "
                     f"its images and configuration, {target.restored_secrets(env)}")
    outcome = target.apply_release(c, env, release, timeout=timeout)
    record(target, env, release_id, action, outcome)
    return outcome


def stop(c: Context, target: Target, env: Environment, *, purge: bool, yes: bool) -> None:
    """Stop an environment; its data stays unless purge (which needs yes, and says what goes)."""
    target.preflight(c, env, "stop")
    doomed = None
    if purge:
        doomed = target.stored_data(c, env)
        shown = ", ".join(doomed) if doomed else "none exist"
        step("stop", f"--purge deletes the {target.data_kind} of {target.where(env)} and all their data: "
                     f"{shown}")
        if not yes:
            raise NoaError("stop: --purge deletes data; run again with --purge --yes to confirm "
                           "(nothing was changed)")
    with locking.hold(env.name, "stop"):
        done = target.halt(c, env, doomed)
        releases.record(env.name, releases.Event("", "purge" if purge else "stop", releases.now(), False,
                                                 target=target.name))
    step("stop", done)


def rollback(c: Context, target: Target, env: Environment, *, to: str = "",
             timeout: int | None = None) -> None:
    """Apply the last good release (or `to`) again, then the health gate."""
    target.preflight(c, env, "rollback")
    events = releases.history(env.name, target.name)
    running = releases.current(events)
    try:
        chosen = releases.rollback_target(events, releases.target_release_ids(env.name, target.name),
                                          away_from=running.release if running else None, to=to)
    except ValueError as error:
        raise NoaError(f"rollback: {error} for {env.name} on {target.name}; "
                       f"see `invoke status --env {env.name}`") from None
    with locking.hold(env.name, "rollback"):
        outcome = roll_back_to(c, target, env, chosen, action=releases.ROLLBACK,
                               timeout=timeout or env.deploy_timeout)
    if not outcome.ok:
        target.show_failure(c, env, outcome)
        raise NoaError(f"rollback: release {chosen} of {env.name} is {target.bad_word} "
                       f"({', '.join(outcome.unhealthy)}); see above; "
                       f"`invoke rollback --env {env.name} --to <release>` tries another")
    target.show_success(c, env, outcome)
    step("rollback", f"{env.name} runs release {chosen} and is {target.good_word}")
