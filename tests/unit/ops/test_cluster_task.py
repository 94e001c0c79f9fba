"""`invoke cluster` and `python -m noa_ops.cluster`: argument handling and one-line errors,
against a state directory where no cluster ever ran (no root, no network, no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

from noa_ops.cli import cluster
from noa_ops.cluster import __main__ as entry
from noa_ops.cluster import build


@pytest.fixture(autouse=True)
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOA_CLUSTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NOA_CLUSTER_NETNS", "noa-unit-test-absent")


def test_task_refuses_an_unknown_action() -> None:
    with pytest.raises(Exit, match="must be one of up, status, down, build"):
        cluster(MockContext(), action="start")


def test_status_of_a_cluster_never_started_fails_and_names_the_kubeconfig(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(Exit, match="not healthy"):
        cluster(MockContext(), action="status", context="kind-noa-dev")
    out = capsys.readouterr().out
    assert "netns noa-unit-test-absent absent" in out
    assert "kube-apiserver" in out and "not running" in out
    # No kubeconfig was ever written: the context named is the one asked for.
    assert f"{tmp_path / 'state' / 'kubeconfig'} (context kind-noa-dev)" in out


def test_entry_point_exits_non_zero_with_one_line(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOA_CLUSTER_CONTEXT", "noa-local")
    assert entry.main(["status"]) == 1
    monkeypatch.setattr(build, "build_all", _fail)
    assert entry.main(["build"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["cluster build: building etcd failed: boom"]


def _fail(*args: object, **kwargs: object) -> None:
    from noa_ops.cluster import ClusterError
    raise ClusterError("building etcd failed: boom")
