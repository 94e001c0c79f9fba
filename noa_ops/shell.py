"""Running commands through invoke's Context so tests can check them with MockContext."""

from __future__ import annotations

import sys
from typing import Any

from invoke.context import Context
from invoke.runners import Result

from . import paths
from .errors import NoaError

PLAIN_ECHO = "{command}"


def run(c: Context, command: str, **kwargs: Any) -> Result:
    """Run a command that may fail, in the checkout (paths.ROOT); the caller decides what a failure
    means. An echoed command is bold on a terminal only: no escape codes in files and CI logs."""
    if kwargs.get("echo") and not sys.stdout.isatty():
        c.config.run.echo_format = PLAIN_ECHO
    with c.cd(str(paths.ROOT)):
        result = c.run(command, warn=True, **kwargs)
    if result is None:  # only with disown/asynchronous, which this package never uses
        raise RuntimeError(f"no result from {command!r}")
    return result


def run_checked(c: Context, command: str, what: str, **kwargs: Any) -> Result:
    """Run a command; on failure, one line naming the step instead of invoke's long report."""
    result = run(c, command, **kwargs)
    if result.failed:
        raise NoaError(f"{what} failed (exit {result.exited}): {command}")
    return result
