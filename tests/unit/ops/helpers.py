"""Helpers for the operator tooling's unit tests (fixtures are in conftest.py): the repository,
its invoke configuration, and MockContexts that record every command."""

from __future__ import annotations

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
