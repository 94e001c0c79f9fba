"""Fixtures for the operator tooling's unit tests: no daemon, no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from unittest.mock import Mock

import pytest
import yaml
from invoke.config import Config
from invoke.context import MockContext

from noa_ops import environments, paths
from noa_ops.environments import Environment

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


@pytest.fixture(autouse=True)
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every unit test acts for a checkout of its own (paths.ROOT): never the real .noa/."""
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    return tmp_path


@pytest.fixture
def dev() -> Environment:
    return environments.select(mock_context(), "dev")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own checkout root (see isolated_root), also as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
