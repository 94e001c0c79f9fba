"""The operator CLI's start: `invoke --list` from the checkout, N times, as a fresh process each
(what every verb pays before it does anything). Target: under 0.15 s."""

from __future__ import annotations

import subprocess
import sys

from .. import paths
from ..errors import NoaError
from .figures import Figure, timed

SECTION = "cli"
START_TARGET = 0.15


def list_tasks() -> None:
    answer = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=paths.REPO, capture_output=True,
                            text=True, check=False)
    if answer.returncode != 0:
        raise NoaError(f"invoke --list failed: {(answer.stderr.strip().splitlines() or ['no output'])[-1]}")


def figures(runs: int) -> list[Figure]:
    list_tasks()  # once unmeasured: the page cache warm, as for an operator's second command
    samples = tuple(timed(list_tasks) for _ in range(runs))
    return [Figure(SECTION, "invoke --list, start to exit", "s", samples, target=START_TARGET,
                   note=f"{sys.executable} -m invoke --list, a new process each run")]
