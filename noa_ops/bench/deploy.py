"""Deploy and rollback: the operator's verbs against plain `docker compose` of the same release.

Both run in a stack of the bench's own (stack.py), after one unmeasured first deploy that creates
its volumes (Postgres initialised, the model copied in) and its first release.

- deploy: `invoke deploy --env dev` against `docker compose -p <project> -f <the release's stored
  compose.yaml> up -d --wait` (compose_commands.up_release: what the deploy itself applies), in
  pairs. Before each run the stack is brought down with `docker compose down` without --volumes
  (what `invoke stop` does): containers and network go, images and volumes stay, so every run
  starts from the same state, that of an environment stopped and deployed again.
- rollback: after a second release (mcp on another image), `invoke rollback --env dev` against the
  plain `up` of the first release's stored file, in pairs; before each run the second release is
  applied again (`invoke rollback --to <second>`, not measured), so each starts from it.
The ratio is verb / plain compose, per pair: what the CLI adds (its start, preflight, render,
image checks, model check, health probes) over compose's own wait.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from invoke.context import Context

from .. import catalogue, environments, images
from .. import compose_commands as compose
from ..errors import NoaError
from ..report import step
from . import stack
from .figures import Figure, timed
from .pairs import RATIO_UNIT, alternate, ratios
from .stack import BenchStack

SECTION = "deploy"
ROLLBACK_SECTION = "rollback"
DEPLOY_TARGET, ROLLBACK_TARGET, RATIO_TARGET = 30.0, 10.0, 1.3
DEPLOY_NAMES = (f"invoke deploy --env dev, {len(catalogue.names())} services",
                "plain docker compose up -d --wait, same release", "deploy, invoke / plain compose")
ROLLBACK_NAMES = ("invoke rollback --env dev", "plain docker compose up -d --wait, previous release",
                  "rollback, invoke / plain compose")
PLAIN_NOTE = "`docker compose -p <project> -f <release>/compose.yaml up -d --wait`, as the deploy applies it"


def plain_up(bench: BenchStack, release_id: str) -> str:
    """The release's stored file applied by compose alone: the project, file and flags deploy uses."""
    env = bench.environment()
    return compose.up_release(env.project, bench.rendered(release_id), timeout=env.deploy_timeout)


def down(c: Context, bench: BenchStack) -> None:
    """Containers and network removed, volumes kept (`docker compose down` without --volumes)."""
    stack.checked(c, compose.down(bench.environment()), "docker compose down")


def first_deploy(c: Context, bench: BenchStack, what: str) -> str:
    step("bench", f"{what}: first deploy of the bench's stack (volumes created, not measured)")
    bench.invoke(c, "deploy", "--env", stack.ENV)
    return bench.latest_release().id


def deploy_pairs(c: Context, bench: BenchStack, runs: int) -> tuple[list[float], list[float]]:
    release = first_deploy(c, bench, SECTION)
    plain = plain_up(bench, release)

    def by_invoke() -> float:
        down(c, bench)
        return timed(lambda: bench.invoke(c, "deploy", "--env", stack.ENV))

    def by_compose() -> float:
        down(c, bench)
        return timed(lambda: stack.checked(c, plain, "plain docker compose up"))

    step("bench", f"deploy: {runs} pairs, invoke deploy then plain compose up")
    return alternate(runs, by_invoke, by_compose)


def deploy_figures(invoked: list[float], plain: list[float]) -> list[Figure]:
    note = "from stopped (containers down, volumes kept), images present; to every service healthy"
    return [Figure(SECTION, DEPLOY_NAMES[0], "s", tuple(invoked), DEPLOY_TARGET,
                   note=f"{note}: CLI and probes"),
            Figure(SECTION, DEPLOY_NAMES[1], "s", tuple(plain), note=f"{PLAIN_NOTE}; {note}: compose's wait"),
            Figure(SECTION, DEPLOY_NAMES[2], RATIO_UNIT, ratios(invoked, plain), RATIO_TARGET,
                   note="per pair")]


def other_mcp(c: Context, tag: str) -> str:
    """mcp's image with a label more: another image ID, so a release with it recreates mcp."""
    base = images.image_name(environments.select(c, stack.ENV), "mcp", tag)
    return stack.derived_image(c, f"noa-bench/mcp:rollback-{uuid.uuid4().hex[:6]}", base,
                               ["LABEL noa.bench=rollback"])


def rollback_pairs(c: Context, bench: BenchStack, other: str, runs: int) -> tuple[list[float], list[float]]:
    good = first_deploy(c, bench, ROLLBACK_SECTION)
    bench.invoke(c, "deploy", "--env", stack.ENV, "--service-image", f"mcp={other}")
    second = bench.latest_release().id
    plain = plain_up(bench, good)

    def then_back(measured: Callable[[], object]) -> float:
        seconds = timed(measured)
        bench.invoke(c, "rollback", "--env", stack.ENV, "--to", second)
        return seconds

    def by_invoke() -> object:
        done = bench.invoke(c, "rollback", "--env", stack.ENV)
        if f"runs release {good} and is" not in done.stdout + done.stderr:
            raise NoaError(f"invoke rollback did not go back to {good}: {stack.last_line(done)}")
        return done

    step("bench", f"rollback: {runs} pairs, invoke rollback then plain compose up of {good}")
    return alternate(runs, lambda: then_back(by_invoke),
                     lambda: then_back(lambda: stack.checked(c, plain, "plain docker compose up")))


def rollback_figures(invoked: list[float], plain: list[float]) -> list[Figure]:
    note = "from a second release (mcp on another image) to the first, every service healthy"
    return [Figure(ROLLBACK_SECTION, ROLLBACK_NAMES[0], "s", tuple(invoked), ROLLBACK_TARGET, note=note),
            Figure(ROLLBACK_SECTION, ROLLBACK_NAMES[1], "s", tuple(plain), note=f"{PLAIN_NOTE}; {note}"),
            Figure(ROLLBACK_SECTION, ROLLBACK_NAMES[2], RATIO_UNIT, ratios(invoked, plain), RATIO_TARGET,
                   note="per pair")]


def without_samples(section: str, names: tuple[str, ...], why: str) -> list[Figure]:
    return [Figure(section, name, RATIO_UNIT if "/" in name else "s", note=why) for name in names]


def figures(runs: int) -> list[Figure]:
    c = stack.project_context()
    if stack.clean_tag(c) is None:
        return without_samples(SECTION, DEPLOY_NAMES, stack.DIRTY_NOTE)
    try:
        with stack.sandbox(c, SECTION) as bench:
            return deploy_figures(*deploy_pairs(c, bench, runs))
    except NoaError as error:
        return without_samples(SECTION, DEPLOY_NAMES, f"failed: {error}".splitlines()[0])


def rollback(runs: int) -> list[Figure]:
    c = stack.project_context()
    tag = stack.clean_tag(c)
    if tag is None:
        return without_samples(ROLLBACK_SECTION, ROLLBACK_NAMES, stack.DIRTY_NOTE)
    made: list[str] = []
    try:
        made.append(other_mcp(c, tag))
        with stack.sandbox(c, ROLLBACK_SECTION) as bench:
            return rollback_figures(*rollback_pairs(c, bench, made[0], runs))
    except NoaError as error:
        return without_samples(ROLLBACK_SECTION, ROLLBACK_NAMES, f"failed: {error}".splitlines()[0])
    finally:
        stack.remove_images(c, made)

