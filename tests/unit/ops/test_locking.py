"""The deploy lock: who holds it, when it is stale, what a refusal says."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from noa_ops import locking
from noa_ops.errors import NoaError


def holder(pid: int = 4242, host: str = "here") -> locking.Holder:
    return locking.Holder(pid, host, "ops", "deploy", "2026-01-01T00:00:00Z")


def test_lock_assessment() -> None:
    assert locking.assess(None, "here") == locking.FREE
    assert locking.assess(holder(), "here", alive=lambda pid: True) == locking.HELD
    assert locking.assess(holder(), "here", alive=lambda pid: False) == locking.STALE
    # Another host's process cannot be checked from here: never taken over.
    assert locking.assess(holder(host="elsewhere"), "here", alive=lambda pid: False) == locking.HELD


def test_a_held_lock_names_its_holder(tmp_path: Path) -> None:
    path = locking.lock_path("dev", tmp_path)
    path.write_text(
        json.dumps(
            {
                "pid": os.getppid(),
                "host": socket.gethostname(),
                "user": "alice",
                "verb": "deploy",
                "since": "2026-01-01T00:00:00Z",
            }
        )
    )
    with pytest.raises(NoaError) as raised:
        locking.acquire("dev", "rollback", tmp_path)
    assert raised.value.message == (
        f"rollback: dev is locked by deploy by alice@{socket.gethostname()} (pid {os.getppid()}) since "
        f"2026-01-01T00:00:00Z; wait for it to finish (if that process is gone for sure, remove {path})"
    )


def test_a_stale_lock_is_taken_over_and_released(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = locking.lock_path("dev", tmp_path)
    path.write_text(
        json.dumps(
            {
                "pid": 2**22 + 12345,
                "host": socket.gethostname(),
                "user": "bob",
                "verb": "deploy",
                "since": "x",
            }
        )
    )
    with locking.hold("dev", "deploy", tmp_path):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert "taking over the stale lock" in capsys.readouterr().err
    assert not path.exists()
