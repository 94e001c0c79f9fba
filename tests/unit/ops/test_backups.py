"""The pure parts of db-backup and db-restore: where backups go, manifests and their checksums,
what a restore compares. The commands themselves run against a real Postgres in
tests/integration/test_backup.py."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from noa_ops import backups, environments, paths
from noa_ops.errors import NoaError
from noa_ops.targets import compose, kubernetes

from .helpers import mock_context


def dev() -> environments.Environment:
    return environments.select(mock_context(), "dev")


def write_backup(directory: Path, overrides: dict[str, object] | None = None) -> Path:
    content = b"PGDMP-fake"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "noa-dev-x.dump").write_bytes(content)
    manifest = {"format": 1, "dump": "noa-dev-x.dump", "sha256": hashlib.sha256(content).hexdigest(),
                "tables": {"noa_agents.agents": {"rows": 3, "md5": "abc"}}, **(overrides or {})}
    path = directory / "noa-dev-x.json"
    path.write_text(json.dumps(manifest))
    return path


def test_backups_go_outside_the_checkout_by_default(tmp_path: Path) -> None:
    assert backups.backup_dir(dev(), "") == backups.DEFAULT_DIR / "dev"
    assert not backups.DEFAULT_DIR.is_relative_to(paths.REPO)
    assert backups.backup_dir(dev(), str(tmp_path / "b")) == tmp_path / "b"


@pytest.mark.parametrize("inside", [".", "build/backups", "./docs/../build"])
def test_a_directory_inside_the_checkout_is_refused(inside: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(paths.REPO)
    with pytest.raises(NoaError, match="is inside the checkout"):
        backups.backup_dir(dev(), inside)


def test_a_sibling_that_merely_starts_with_the_checkout_s_name_is_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "noa"
    checkout.mkdir()
    monkeypatch.setattr(paths, "REPO", checkout)
    assert backups.backup_dir(dev(), str(tmp_path / "noa-backups")) == tmp_path / "noa-backups"
    with pytest.raises(NoaError):
        backups.backup_dir(dev(), str(checkout / "b"))


def test_the_stamp_is_utc_and_sorts() -> None:
    assert backups.stamp(datetime(2026, 12, 2, 9, 5, 7, tzinfo=UTC)) == "20261202T090507Z"


def test_figures_parse_and_a_table_with_a_pipe_in_no_name_is_read_from_the_right() -> None:
    parsed = backups.parse_figures(["noa_agents.agents|12|0cc175b9", "noa_core.services|0|d41d8cd9"])
    assert parsed == {"noa_agents.agents": backups.Table(12, "0cc175b9"),
                      "noa_core.services": backups.Table(0, "d41d8cd9")}


def test_a_manifest_and_its_dump_load_from_either_file(tmp_path: Path) -> None:
    manifest = write_backup(tmp_path)
    for given in (manifest, manifest.with_suffix(".dump")):
        dump, loaded = backups.load_manifest(str(given))
        assert dump == tmp_path / "noa-dev-x.dump" and loaded["tables"]["noa_agents.agents"]["rows"] == 3


@pytest.mark.parametrize(("change", "expected"), [
    ({"sha256": "0" * 64}, "does not match its checksum"),
    ({"format": 2}, "is not a backup manifest of format 1"),
    ({"tables": []}, "is not a backup manifest of format 1"),
    ({"dump": "elsewhere.dump"}, "is missing"),
])
def test_a_manifest_near_miss_is_one_line(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    manifest = write_backup(tmp_path, change)
    with pytest.raises(NoaError, match=expected):
        backups.load_manifest(str(manifest))


@pytest.mark.parametrize(("text", "expected"), [
    (None, "no manifest"), ("{}", "is not a backup manifest"), ("[1]", "is not a backup manifest"),
    ('{"format": 1', "is not a backup manifest"), (b"\xff\xfe", "is not a backup manifest"),
])
def test_a_missing_or_broken_manifest_is_one_line(tmp_path: Path, text: str | bytes | None,
                                                  expected: str) -> None:
    manifest = write_backup(tmp_path)
    if text is None:
        manifest.unlink()
    elif isinstance(text, bytes):
        manifest.write_bytes(text)
    else:
        manifest.write_text(text)
    with pytest.raises(NoaError, match=expected):
        backups.load_manifest(str(manifest.with_suffix(".dump")))


def test_differences_name_each_table_and_see_other_rows_of_the_same_count() -> None:
    want = {"a.x": backups.Table(3, "m1"), "a.y": backups.Table(1, "m2"), "a.z": backups.Table(0, "m3")}
    got = {"a.x": backups.Table(3, "m1"), "a.y": backups.Table(1, "other"), "a.w": backups.Table(2, "m4")}
    assert backups.differences(want, got) == [
        "a.w: absent rows in the backup, 2 now",
        "a.y: 1 rows in the backup, 1 now (same count, other rows)",
        "a.z: 0 rows in the backup, absent now",
    ]
    assert backups.differences(want, dict(want)) == []


def test_the_commands_run_in_the_postgres_container_with_its_own_password() -> None:
    env = dev()
    prefix = compose.postgres_exec(env)
    assert prefix[:4] == ["docker", "compose", "-p", env.project]
    assert prefix[-3:] == ["exec", "-T", "postgres"]
    command = backups.in_postgres(prefix, "pg_dump", "--format=custom")
    assert command[-2:] == ["pg_dump", "--format=custom"]
    assert "secret POSTGRES_PASSWORD" in command[len(prefix) + 2]
    staging = environments.select(mock_context(), "staging")
    assert kubernetes.postgres_exec(staging) == [
        "kubectl", "--context", staging.kube_context, "-n", staging.kube_namespace, "exec", "-i",
        "postgres-0", "-c", "postgres", "--"]


def test_a_restore_stops_the_writers_and_the_ui_in_front_of_them_in_start_order() -> None:
    from noa_ops import cli

    assert cli.restore_pauses() == ["mcp", "claude-flow", "agenticos", "ui"]
