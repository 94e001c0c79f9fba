"""Fixtures for the operator tooling's unit tests: no daemon, no network (helpers: helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from noa_ops import environments
from noa_ops.environments import Environment

from .helpers import mock_context


@pytest.fixture
def dev() -> Environment:
    return environments.select(mock_context(), "dev")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty directory, so .noa/dev.env is created there and nowhere else."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
