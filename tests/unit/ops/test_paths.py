"""Where state goes: .noa/ under the checkout, or NOA_STATE_DIR (a test suite's own directory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from noa_ops import paths

SHOW = "from noa_ops import paths, releases; print(paths.state('builds')); print(releases.env_dir('dev'))"


def _state_for(environ: dict[str, str]) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key != "NOA_STATE_DIR"} | environ
    result = subprocess.run([sys.executable, "-c", SHOW], cwd=paths.REPO, env=env, capture_output=True,
                            text=True, check=True)
    return result.stdout.split()


def test_state_is_under_the_checkout_by_default() -> None:
    state = paths.REPO / ".noa"
    assert _state_for({}) == [str(state / "builds"), str(state / "releases" / "dev")]


def test_noa_state_dir_moves_every_record(tmp_path: Path) -> None:
    assert _state_for({"NOA_STATE_DIR": str(tmp_path)}) == [str(tmp_path / "builds"),
                                                            str(tmp_path / "releases" / "dev")]


def test_an_empty_noa_state_dir_is_the_default() -> None:
    assert _state_for({"NOA_STATE_DIR": ""}) == _state_for({})
