"""The steps of `nox -s validate`, in order, each one command: noxfile.py runs them in the venv of
the session each names (validate, then validate-checkov), and `nox -s bench` times each alone
(noa_ops/bench/validate.py). Standard library only: the noxfile imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from noa_ops import paths

RENDER_DIR = "build/k8s-render"
# The policy tests' own base temp: pytest's default one is shared, and clearing other runs' old
# directories there (a unit-test run leaves thousands of files) took seconds of the step.
POLICY_TEMP = "build/pytest-policy"
BASH_SHEBANGS = ("#!/usr/bin/env bash", "#!/bin/bash", "#!/bin/sh")
SH_SHEBANGS = (*BASH_SHEBANGS, "#!/usr/bin/env sh", "#!/bin/dash")


@dataclass(frozen=True)
class Step:
    name: str
    argv: tuple[str, ...]
    session: str = "validate"  # the nox session whose venv runs it
    env: Mapping[str, str] = field(default_factory=dict)


def every_shell_script(root: Path = paths.REPO) -> list[str]:
    """scripts/*, .ci/run and every sh/bash script under docker/ (by shebang, extension or not)."""
    candidates = [*sorted((root / "scripts").iterdir()), root / ".ci" / "run",
                  *sorted(p for p in (root / "docker").rglob("*") if p.is_file())]
    return [
        str(path.relative_to(root))
        for path in candidates
        if path.is_file() and path.read_text(errors="replace").startswith(SH_SHEBANGS)
    ]


def steps(root: Path = paths.REPO) -> list[Step]:
    """Lint YAML, Dockerfile and shell; check the compose files and the monitoring configs; render
    every Kubernetes variant; validate them strictly against schemas; the policy tests; checkov."""
    return [
        Step("yamllint", ("yamllint", "--strict", "-c", ".yamllint.yaml", ".")),
        Step("hadolint", ("hadolint", "--config", ".hadolint.yaml", "docker/Dockerfile")),
        Step("shellcheck", ("shellcheck", "--severity=style", *every_shell_script(root))),
        Step("compose config", ("python", "-m", "noa_ops.compose_check")),
        Step("promtool/amtool", ("python", "-m", "noa_ops.monitoring_check")),
        Step("render", ("python", "-m", "noa_ops.k8s_render", "--out", RENDER_DIR)),
        Step("schema", ("python", "-m", "noa_ops.k8s_validate", RENDER_DIR)),
        Step("policy", ("pytest", "tests/policy", "--basetemp", POLICY_TEMP),
             env={"NOA_K8S_RENDER": RENDER_DIR}),
        Step("checkov", ("python", "-m", "noa_ops.checkov_scan", RENDER_DIR), session="validate-checkov"),
    ]


def step(name: str, root: Path = paths.REPO) -> Step:
    return next(item for item in steps(root) if item.name == name)
