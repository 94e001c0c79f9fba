"""The operator tooling's own files: pins, the task collection, the scripts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .helpers import REPO

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z0-9,]+\])?==[0-9][^ ;]*$")


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_requirements_are_pinned_exactly() -> None:
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in requirement_lines(REPO / name):
            assert line.startswith("-r ") or PIN.match(line), f"{name}: {line!r} is not pinned with =="


def test_operator_cli_needs_only_invoke_rich_and_pyyaml() -> None:
    names = {line.split("==")[0].lower() for line in requirement_lines(REPO / "requirements.txt")}
    assert names == {"invoke", "rich", "pyyaml"}


def test_test_requirements_include_the_cli_and_the_services() -> None:
    lines = requirement_lines(REPO / "requirements-test.txt")
    assert "-r requirements.txt" in lines
    assert "-r services/requirements.in" in lines
    assert any(line.startswith("nox==") for line in lines)


def test_task_collection() -> None:
    import tasks

    assert sorted(tasks.ns.task_names) == [
        "build", "cluster", "db-backup", "db-restore", "deploy", "docs", "env-check", "env-init", "health",
        "logs", "model-fetch", "push", "rollback", "rotate-key", "status", "stop"
    ]


def test_scripts_are_executable() -> None:
    for name in ("scripts/bootstrap", "scripts/start-engine", "scripts/make-base-image",
                 "scripts/install-compose-plugin", ".ci/run"):
        path = REPO / name
        assert path.is_file() and os.access(path, os.X_OK), f"{name} is missing or not executable"


def test_an_echoed_command_carries_no_escape_codes_into_a_pipe() -> None:
    """invoke bolds an echoed command with ANSI codes; in a file or CI log they are noise. The tasks'
    configuration (tasks.py installs shell.invoke_config()) echoes plain text into a pipe."""
    import subprocess
    import sys

    script = ("from invoke.config import Config\nfrom invoke.context import Context\n"
              "from noa_ops.shell import invoke_config, run\n"
              "run(Context(Config(overrides=invoke_config())), 'true', echo=True)\n")
    piped = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                           check=True)
    assert "true" in piped.stdout and "\x1b[" not in piped.stdout, repr(piped.stdout)


# What `invoke --list` may import of the package: the task declarations and what tasks.py runs. The
# verbs' own modules (and rich) load when a verb runs, so the listing stays fast.
LISTING_IMPORTS = {"noa_ops", "noa_ops.cli", "noa_ops.config_file", "noa_ops.errors", "noa_ops.paths",
                   "noa_ops.shell", "noa_ops.terminal"}


def test_listing_the_tasks_imports_no_verb_s_modules() -> None:
    """Nor the settings catalogue: rotate-key's --name help names no secret (a wrong name is
    refused with the list), so envfile loads when env-init or rotate-key runs."""
    script = ("import sys\nfrom invoke.main import program\nprogram.run(['invoke', '--list'], exit=False)\n"
              "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    listed = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=True)
    loaded = set(listed.stderr.split())
    assert "Available tasks:" in listed.stdout
    assert {name for name in loaded if name.startswith("noa_ops")} == LISTING_IMPORTS
    assert "rich" not in loaded
