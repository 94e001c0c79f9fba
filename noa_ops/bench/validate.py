"""`nox -R -s validate` warm (its venvs installed, nothing to install), N times after one
unmeasured run, each followed by every step of it run alone, so drift falls on both alike:

- the run's wall time (target: under 20 s on 2 cores) and the objects rendered across every
  variant per second of it;
- each step's share of the run (noa_ops/validation.py lists them), from when nox logged the step's
  command to when it logged the next line; what is in no step is nox's own (sessions, venv checks);
- each step's command alone, in its session's venv, on the renders the run made.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import time
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from .. import k8s_render, paths, validation
from ..errors import NoaError
from ..report import step as progress
from .figures import Figure, timed

SECTION = "validate"
WALL_TARGET = 20.0
NOX = paths.REPO / ".venv" / "bin" / "nox"
COMMAND = ("-R", "-s", "validate")
NOX_LINE = "nox > "
NOX_OWN = "nox itself (sessions, venv checks)"

Line = tuple[float, str]  # seconds since the run started, the line


def run_validate(nox: Path = NOX) -> tuple[float, list[Line]]:
    """One `nox -R -s validate`: its wall time and nox's log lines, each with when it came."""
    if not nox.is_file():
        raise NoaError(f"no {nox}: run scripts/bootstrap")
    started = time.monotonic()
    lines: list[Line] = []
    with subprocess.Popen([str(nox), *COMMAND], cwd=paths.REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as running:
        assert running.stdout is not None
        for line in running.stdout:
            if line.startswith(NOX_LINE):
                lines.append((time.monotonic() - started, line[len(NOX_LINE):].rstrip("\n")))
    wall = time.monotonic() - started
    if running.returncode != 0:
        raise NoaError(f"nox {' '.join(COMMAND)} failed (exit {running.returncode}): run it to see why")
    return wall, lines


def step_seconds(lines: Sequence[Line], wall: float, steps: Iterable[validation.Step]) -> dict[str, float]:
    """Seconds of each step in one run: from its command's log line to the next line (the end of the
    run for the last). A step nox never logged is absent."""
    commands = [(item.name, shlex.join(item.argv)) for item in steps]
    seconds: dict[str, float] = {}
    for index, (at, text) in enumerate(lines):
        ended = lines[index + 1][0] if index + 1 < len(lines) else wall
        for name, command in commands:
            if text == command or text.startswith(command + " "):
                seconds[name] = seconds.get(name, 0.0) + ended - at
                break
    return seconds


def run_alone(item: validation.Step) -> None:
    """The step's command by itself, in its session's venv, output discarded."""
    venv = paths.REPO / ".nox" / item.session
    env = {**os.environ, **item.env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "VIRTUAL_ENV": str(venv)}
    answer = subprocess.run(list(item.argv), cwd=paths.REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, check=False)
    if answer.returncode != 0:
        last = (answer.stderr.strip().splitlines() or ["no output"])[-1]
        raise NoaError(f"validate's {item.name} step alone failed (exit {answer.returncode}): {last}")


def rendered_objects(render_dir: Path = paths.REPO / validation.RENDER_DIR) -> tuple[int, int]:
    """Objects across the renders, and how many renders (variants) there are."""
    renders = sorted(render_dir.glob("*.yaml"))
    return sum(k8s_render.count_objects(path.read_text()) for path in renders), len(renders)


def share_figures(names: Sequence[str], runs: Sequence[tuple[float, dict[str, float]]],
                  alone: dict[str, list[float]]) -> list[Figure]:
    """Each step's share of its run (%), beside the step alone (s); then nox's own share."""
    result = []
    for name in names:
        in_run = [seconds.get(name, 0.0) for _, seconds in runs]
        result.append(Figure(SECTION, f"{name}: share of the run", "%",
                             tuple(100 * part / wall for part, (wall, _) in zip(in_run, runs, strict=True)),
                             note=f"median {statistics.median(in_run):.2f} s in the run"))
        result.append(Figure(SECTION, f"{name}: alone", "s", tuple(alone[name])))
    own = [wall - sum(seconds.values()) for wall, seconds in runs]
    result.append(Figure(SECTION, f"{NOX_OWN}: share of the run", "%",
                         tuple(100 * part / wall for part, (wall, _) in zip(own, runs, strict=True)),
                         note=f"what is in no step: median {statistics.median(own):.2f} s"))
    return result


def figures(runs: int) -> list[Figure]:
    steps = validation.steps()
    progress("bench", f"validate: nox {' '.join(COMMAND)} once unmeasured, then {runs} runs, each step alone")
    run_validate()  # the venvs and the page cache warm, as for an operator's second run
    measured: list[tuple[float, dict[str, float]]] = []
    alone: dict[str, list[float]] = {item.name: [] for item in steps}
    for _ in range(runs):
        wall, lines = run_validate()
        measured.append((wall, step_seconds(lines, wall, steps)))
        for item in steps:
            alone[item.name].append(timed(partial(run_alone, item)))
    objects, renders = rendered_objects()
    walls = tuple(wall for wall, _ in measured)
    how = (f"`nox {' '.join(COMMAND)}`, venvs installed, after one unmeasured run; a step's share from "
           f"nox's log, beside its command run alone in its session's venv on the run's renders")
    return [Figure(SECTION, "nox -R -s validate, warm", "s", walls, WALL_TARGET, note=how),
            Figure(SECTION, "objects rendered per second of the run", "objects/s",
                   tuple(objects / wall for wall in walls),
                   note=f"{objects} objects in the {renders} renders (every variant) / the run's wall time"),
            *share_figures([item.name for item in steps], measured, alone)]
