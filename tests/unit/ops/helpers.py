"""Helpers for the operator tooling's unit tests (fixtures are in conftest.py): the repository,
its invoke configuration, MockContexts that record every command, and the real CLI in a process."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast
from unittest.mock import Mock

import yaml
from invoke.config import Config
from invoke.context import MockContext

REPO = Path(__file__).resolve().parents[3]


def project_config() -> dict[str, Any]:
    """invoke.yaml as invoke would load it next to tasks.py."""
    loaded: dict[str, Any] = yaml.safe_load((REPO / "invoke.yaml").read_text())
    return loaded


def mock_context(run: Any = None) -> MockContext:
    """A MockContext with the project's configuration; `run` maps commands to results."""
    config = Config(overrides=project_config())
    # Always give `run` results: only then is it a Mock (assert_not_called etc.), and an
    # unexpected command raises NotImplementedError instead of running.
    return MockContext(config=config, run={} if run is None else run)


def runs(c: MockContext) -> Mock:
    """The Mock that records a mock_context's commands."""
    return cast(Mock, c.run)


def invoke(*words: str, env: dict[str, str] | None = None, pty: bool = False) -> tuple[int, str, str]:
    """`invoke <words>` run from the checkout, as an operator would, with stdout and stderr piped
    (or, with `pty`, both on one terminal, returned as stdout); NO_COLOR and TERM only from `env`."""
    environ = {name: value for name, value in os.environ.items() if name not in ("NO_COLOR", "TERM")}
    environ.update(env or {})
    command = [sys.executable, "-m", "invoke", *words]
    if not pty:
        done = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=60,
                              check=False, stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout, done.stderr
    leader, follower = os.openpty()
    process = subprocess.Popen(command, cwd=REPO, env=environ, stdin=subprocess.DEVNULL, stdout=follower,
                               stderr=follower)
    os.close(follower)
    try:
        shown = read_terminal(leader, time.monotonic() + 60)
        return process.wait(timeout=5), shown.decode(), ""
    finally:
        os.close(leader)
        process.kill()


def read_terminal(leader: int, deadline: float) -> bytes:
    """What a pseudo-terminal showed until its last writer closed it (or the deadline passed)."""
    shown = b""
    while (left := deadline - time.monotonic()) > 0 and select.select([leader], [], [], left)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not chunk:
            break
        shown += chunk
    return shown
