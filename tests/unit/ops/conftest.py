"""Fixtures for the operator tooling's unit tests: no daemon, no network (helpers: helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from noa_ops import environments, paths
from noa_ops.environments import Environment

from .helpers import mock_context


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
