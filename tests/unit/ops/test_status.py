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


def _printed(rows: list[status.Status], width: int, monkeypatch: pytest.MonkeyPatch, *,
             wide: bool = False) -> str:
    from rich.console import Console

    from noa_ops import report

    console = Console(width=width, record=True, highlight=False, force_terminal=False)
    monkeypatch.setattr(report, "out", console)
    report.print_status(rows, wide=wide)
    return console.export_text()


RELEASE = "20261202T195205Z-1a2b3c4d5e6f-dirty.2"


def _rows() -> list[status.Status]:
    running = status.describe("dev", "compose", [Event(RELEASE, "auto-rollback", "2026-12-02T19:52:05+00:00",
                                                       True)], {RELEASE: "1a2b3c4d5e6f-dirty"})
    blocked = status.describe("staging", "kubernetes", [Event("r1", "deploy", "t1", True)], {})
    blocked = status.Status(**{**blocked.__dict__, "detail": "status: the current kube context is "
                               "noa-staging-2, but staging may only use noa-staging (invoke.yaml)"})
    return [running, blocked, status.describe("prod", "kubernetes", [], {})]


@pytest.mark.parametrize("width", [80, 100])
def test_status_fits_the_terminal_and_cuts_nothing(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _printed(_rows(), width, monkeypatch)
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= width, shown
    assert RELEASE in shown and "auto-rollback" in shown and "…" not in shown
    assert "noa-staging (invoke.yaml)" in " ".join(shown.split()), "long details wrap, whole"
    for name in ("dev", "staging", "prod"):
        assert any(line.split("│")[1].strip() == name for line in lines if line.count("│") >= 2), name


def test_wide_status_keeps_one_row_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _printed(_rows(), 160, monkeypatch, wide=True)
    assert "healthy now" in shown and RELEASE in shown
    assert _printed(_rows(), 80, monkeypatch, wide=True) != shown, "the near miss: wide does not fit 80"
