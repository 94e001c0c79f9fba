"""`invoke status`: what runs in each environment and since when."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noa_ops import cli, status
from noa_ops.releases import Event

from .helpers import mock_context


def test_status_describes_what_runs_and_since_when() -> None:
    assert status.describe("dev", "compose", [], {}).state == "never deployed"
    events = [
        Event("a", "deploy", "t1", True),
        Event("b", "deploy", "t2", False),
        Event("a", "auto-rollback", "t3", True),
    ]
    row = status.describe("dev", "compose", events, {"a": "abc"})
    assert (row.state, row.release, row.tag, row.action, row.since, row.passed_gate) == (
        "running",
        "a",
        "abc",
        "auto-rollback",
        "t3",
        True,
    )
    stopped = status.describe("dev", "compose", [*events, Event("", "stop", "t4", False)], {})
    assert (stopped.state, stopped.since) == ("stopped", "t4")


def test_status_task_json(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli.status(mock_context(), json=True)
    rows = json.loads(capsys.readouterr().out)
    assert [(row["environment"], row["target"], row["state"]) for row in rows] == [
        ("dev", "compose", "never deployed"),
        ("staging", "kubernetes", "never deployed"),
        ("prod", "kubernetes", "never deployed"),
    ]
