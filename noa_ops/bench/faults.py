"""Faults: how long the stack takes to heal, in a stack of the bench's own (stack.py).

- crash -> healthy, per service: every process of the service's container but its PID 1 (tini) is
  killed with SIGKILL (`docker exec <container> sh -c 'kill -KILL -1'`), as a crash of the service
  would end them; tini then exits with the service's status and the engine restarts the container
  (the compose file's `restart: unless-stopped`). Measured from the kill to the engine reporting the
  restarted container healthy; the whole stack is healthy again before the next service's turn.
  (`docker kill` would not do: the engine counts it as a stop asked for, and unless-stopped then
  leaves the container down.) The health check's 5 s interval bounds each figure from below.
- a crash-looping release rolled back: `invoke deploy --env dev --service-image agenticos=<image>`
  where the image is agenticos's with `ENTRYPOINT ["false"]` (it exits at once, as the cluster suite's
  FAULTS "exits" does); from the deploy's start to its exit, after the automatic rollback to the
  last good release is healthy.
"""

from __future__ import annotations

import shlex
import time
import uuid
from collections.abc import Callable

from invoke.context import Context

from .. import catalogue, environments, images
from ..errors import NoaError
from ..report import step
from ..shell import run
from . import stack
from .figures import Figure, timed
from .stack import BenchStack

SECTION = "faults"
RECOVERY_TIMEOUT = 180.0  # seconds a restarted container has to be healthy (llama's start_period)
POLL = 0.1
CRASH = "kill -KILL -1"  # every process the caller may signal but PID 1 and itself
STATE_FORMAT = "{{.RestartCount}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"
HEALTH_FORMAT = "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"
CRASH_LOOP_NAME = "crash-looping release (agenticos exits) -> rolled back"


def container_of(c: Context, project: str, service: str) -> str:
    labels = [f"label=com.docker.compose.project={project}", f"label=com.docker.compose.service={service}"]
    words = ["docker", "ps", "-q", "--no-trunc"]
    for label in labels:
        words += ["--filter", label]
    found = stack.checked(c, shlex.join(words), "docker ps").stdout.split()
    if len(found) != 1:
        raise NoaError(f"{project} has {len(found)} running {service} containers, not one")
    return found[0]


def crash_command(container: str) -> str:
    return shlex.join(["docker", "exec", container, "sh", "-c", CRASH])


def state_of(c: Context, container: str) -> str:
    """`<restart count> <status> <health>` of a container ("" when the engine does not answer)."""
    answer = run(c, shlex.join(["docker", "inspect", "--format", STATE_FORMAT, container]), hide=True)
    return answer.stdout.strip() if answer.ok else ""


def restarts(state: str) -> int:
    first = state.split(maxsplit=1)[0] if state else ""
    return int(first) if first.isdigit() else -1


def recovered(restarts_before: int, state: str) -> bool:
    """Restarted since the crash, running and healthy again."""
    words = state.split()
    return restarts(state) > restarts_before and words[1:] == ["running", "healthy"]


def all_healthy(states: str) -> bool:
    """Every line of HEALTH_FORMAT (one per container) says healthy."""
    lines = states.split()
    return bool(lines) and all(line == "healthy" for line in lines)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = RECOVERY_TIMEOUT,
               sleep: Callable[[float], None] = time.sleep) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise NoaError(f"{what} not within {timeout:.0f} s")
        sleep(POLL)


def stack_healthy(c: Context, project: str) -> bool:
    label = f"label=com.docker.compose.project={project}"
    listed = run(c, f"docker ps -aq --no-trunc --filter {shlex.quote(label)}", hide=True)
    ids = listed.stdout.split() if listed.ok else []
    if not ids:
        return False
    answer = run(c, shlex.join(["docker", "inspect", "--format", HEALTH_FORMAT, *ids]), hide=True)
    return answer.ok and all_healthy(answer.stdout)


def crash_to_healthy(c: Context, project: str, service: str) -> float:
    container = container_of(c, project, service)
    before = restarts(state_of(c, container))
    started = time.monotonic()
    run(c, crash_command(container), hide=True)  # its exit status is the crash's, not ours to judge
    wait_until(lambda: recovered(before, state_of(c, container)), f"{service} healthy again after the crash")
    seconds = time.monotonic() - started
    wait_until(lambda: stack_healthy(c, project), f"the whole stack healthy after {service}'s crash")
    return seconds


def crash_runs(c: Context, bench: BenchStack, runs: int) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in catalogue.names()}
    for index in range(runs):
        step("bench", f"faults: crashing each service in turn (run {index + 1} of {runs})")
        for name, samples in seconds.items():
            samples.append(crash_to_healthy(c, bench.project, name))
    return seconds


def crash_loop_image(c: Context, tag: str) -> str:
    base = images.image_name(environments.select(c, stack.ENV), "agenticos", tag)
    return stack.derived_image(c, f"noa-bench/agenticos:crash-{uuid.uuid4().hex[:6]}", base,
                               ['ENTRYPOINT ["false"]', "CMD []"])


def crash_loop_deploy(c: Context, bench: BenchStack, broken: str) -> None:
    """The deploy of the broken release: it must fail, and say it rolled back to a healthy release."""
    command = bench.command("deploy", "--env", stack.ENV, "--service-image", f"agenticos={broken}")
    result = run(c, command, env=bench.environ(), hide=True)
    said = " ".join(f"{result.stdout} {result.stderr}".split())
    if result.ok or "rolled back to" not in said or "which is healthy" not in said:
        raise NoaError(f"the crash-looping release was not rolled back to a healthy one: "
                       f"{stack.last_line(result)}")


def rollback_runs(c: Context, bench: BenchStack, broken: str, runs: int) -> list[float]:
    step("bench", f"faults: {runs} deploys of a crash-looping agenticos, each rolled back")
    return [timed(lambda: crash_loop_deploy(c, bench, broken)) for _ in range(runs)]


def measure(c: Context, tag: str, runs: int) -> list[Figure]:
    made: list[str] = []
    try:
        made.append(crash_loop_image(c, tag))
        with stack.sandbox(c, SECTION) as bench:
            bench.invoke(c, "deploy", "--env", stack.ENV)
            crashes = crash_runs(c, bench, runs)
            looped = rollback_runs(c, bench, made[0], runs)
    finally:
        stack.remove_images(c, made)
    note = "SIGKILL to every process but tini; to the engine's healthy (restart: unless-stopped)"
    result = [Figure(SECTION, f"crash -> healthy: {name}", "s", tuple(samples), note=note)
              for name, samples in crashes.items()]
    return [*result, Figure(SECTION, CRASH_LOOP_NAME, "s", tuple(looped),
                            note="deploy start to exit, the last good release healthy again")]


def figures(runs: int) -> list[Figure]:
    c = stack.project_context()
    tag = stack.clean_tag(c)
    names = [f"crash -> healthy: {name}" for name in catalogue.names()] + [CRASH_LOOP_NAME]
    if tag is None:
        return [Figure(SECTION, name, "s", note=stack.DIRTY_NOTE) for name in names]
    try:
        return measure(c, tag, runs)
    except NoaError as error:
        return [Figure(SECTION, name, "s", note=f"failed: {error}".splitlines()[0]) for name in names]
