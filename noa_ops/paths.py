"""Where things are. Nothing in the operator tasks changes the working directory.

REPO is the checkout this package was loaded from: its source files (docker/, k8s/, scripts/,
services/) are always read from there. ROOT is the checkout the tasks act for: relative paths of
invoke.yaml (env_file) and the state directory .noa/ resolve against it, and every command runs
in it (noa_ops/shell.py), so `docker/docker-compose.yml` in a command means the same file wherever
invoke was started. They are the same directory; unit tests point ROOT at a temporary one.

Standard library only: the checkov session imports noa_ops.k8s_render without our dependencies.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO
# Under ROOT: env files, releases, builds, locks, Kubernetes renders. NOA_STATE_DIR moves it (an
# absolute path): a test suite keeps its releases and records apart from the operator's.
STATE = Path(os.environ.get("NOA_STATE_DIR") or ".noa")
COMPOSE_FILE = Path("docker/docker-compose.yml")
HOT_RELOAD_FILE = Path("docker/docker-compose.dev.yml")  # mounts the source, reloads on change
K8S = REPO / "k8s"


def under_root(path: Path) -> Path:
    """`path` as an absolute path: relative ones are relative to ROOT."""
    return path if path.is_absolute() else ROOT / path


def state(*parts: str) -> Path:
    """A path in the state directory, e.g. state("releases") is <ROOT>/.noa/releases."""
    return ROOT.joinpath(STATE, *parts)


def shown(path: Path) -> str:
    """How a path appears in commands and messages: relative to ROOT when it lies below it."""
    try:
        return str(path.relative_to(ROOT)) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)
