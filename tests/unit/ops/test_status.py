"""`invoke status`: what runs in each environment and since when."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke.runners import Result

from noa_ops import cli, environments, releases, status
from noa_ops.releases import Event

from .helpers import mock_context, runs


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


@pytest.mark.parametrize(("current", "measured"), [("noa-staging", True), ("noa-staging-2", False)])
def test_status_measures_a_cluster_only_through_its_own_context(current: str, measured: bool) -> None:
    releases.record("staging", Event("r1", "deploy", "t1", True, target="kubernetes"))
    kubectl = "kubectl --context noa-staging -n noa-server-staging get deployments,statefulsets -o json"
    c = mock_context({"kubectl config current-context": Result(f"{current}\n"),
                      kubectl: Result(json.dumps({"items": []}))})
    row = status.of(c, environments.select(c, "staging"))
    assert row.state == "running"
    if measured:
        assert row.detail == "" and kubectl in [args[0] for args, _ in runs(c).call_args_list]
        return
    assert row.healthy_now is None
    assert row.detail.startswith(f"status: the current kube context is {current}, but staging may only use")
    assert [args[0] for args, _ in runs(c).call_args_list] == ["kubectl config current-context"]
