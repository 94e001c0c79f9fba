"""Releases: ids, private files, masked secrets, and the rollback choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from noa_ops import releases
from noa_ops.errors import NoaError
from noa_ops.releases import Event


def event(release: str, healthy: bool, action: str = "deploy") -> Event:
    return Event(release, action, "t", healthy)


def test_rollback_target_is_the_newest_healthy_other_release() -> None:
    events = [event("a", True), event("b", True), event("c", False)]
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="c") == "b"
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="b") == "a"
    # After a rollback to a, rolling back again goes to the release before a's latest apply.
    events += [event("a", True, "auto-rollback")]
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="a") == "b"
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="a", to="c") == "c"


def test_rollback_target_errors() -> None:
    with pytest.raises(ValueError, match="no earlier release passed its health gate"):
        releases.rollback_target([event("a", False)], ["a"], away_from="a")
    with pytest.raises(ValueError, match="no release 'z'; recent: a"):
        releases.rollback_target([], ["a"], away_from=None, to="z")
    # A release whose files are gone is not a target.
    assert releases.rollback_target([event("gone", True), event("a", True)], ["a"], away_from="x") == "a"


def test_release_ids_sort_in_time_and_never_collide() -> None:
    from datetime import UTC, datetime

    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = releases.new_id("abc", [], stamp)
    assert first == "20260102T030405Z-abc"
    assert releases.new_id("abc", [first], stamp) == "20260102T030405Z-abc.2"


def test_releases_are_private_files(in_tmp: Path) -> None:
    release = releases.create(
        "dev",
        "compose",
        "abc",
        images={"mcp": "sha256:1"},
        sources={"mcp": "noa/mcp:abc"},
        rendered_text="services: {}\n",
    )
    directory = releases.release_dir("dev", release.id)
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct((directory / "release.json").stat().st_mode & 0o777) == "0o600"
    releases.finish(release, releases.HEALTHY)
    assert releases.load("dev", release.id).outcome == "healthy"
    with pytest.raises(NoaError, match=f"no release 'nope' of dev; recent: {release.id}"):
        releases.load("dev", "nope")


def test_secrets_are_masked_in_both_yaml_and_list_forms() -> None:
    text = "  POSTGRES_PASSWORD: hunter2hunter2\n  - REDIS_PASSWORD=abc\n  LOG_LEVEL: info\n"
    masked = releases.mask_secrets(text, ["POSTGRES_PASSWORD", "REDIS_PASSWORD"])
    assert "hunter2" not in masked and "abc" not in masked and "LOG_LEVEL: info" in masked


def said(capsys: pytest.CaptureFixture[str]) -> str:
    """What the progress lines said, folded back into one line."""
    return " ".join(capsys.readouterr().err.split())


def two_releases() -> tuple[releases.Release, releases.Release]:
    good = releases.create("dev", "compose", "abc", images={}, sources={}, rendered_text="a: 1\n")
    releases.record("dev", Event(good.id, releases.DEPLOY, releases.now(), True, target="compose"))
    bad = releases.create("dev", "compose", "def", images={}, sources={}, rendered_text="a: 2\n")
    releases.record("dev", Event(bad.id, releases.DEPLOY, releases.now(), False, target="compose"))
    return good, bad


@pytest.mark.parametrize("content", ["{}", "[1, 2]", '{"id": "x"', ""])
def test_an_unreadable_release_is_named_and_skipped_not_fatal(
    content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = two_releases()
    (releases.release_dir("dev", bad.id) / "release.json").write_text(content)
    with pytest.raises(NoaError, match=rf"^release {bad.id} of dev cannot be read \(.*release\.json: "):
        releases.load("dev", bad.id)
    assert [release.id for release in releases.all_releases("dev")] == [good.id]
    assert f"skipped: release {bad.id} of dev cannot be read" in said(capsys)
    # The other releases still serve a rollback: the choice and the load of the good one.
    events = releases.history("dev", "compose")
    chosen = releases.rollback_target(events, releases.target_release_ids("dev", "compose"), away_from=bad.id)
    assert chosen == good.id and releases.load("dev", chosen).tag == "abc"


def test_a_truncated_history_line_is_skipped_and_the_rest_kept(capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = two_releases()
    path = releases.env_dir("dev") / "history.jsonl"
    path.write_text(path.read_text() + '{"release": "20261201T00', encoding="utf-8")
    assert [event.release for event in releases.history("dev")] == [good.id, bad.id]
    assert "skipped 1 unreadable line(s) of .noa/releases/dev/history.jsonl" in said(capsys)
    path.write_bytes(path.read_bytes() + b"\n\xff\xfe\n{}\n")  # bytes that are no UTF-8; a near miss: {}
    assert [event.release for event in releases.history("dev")] == [good.id, bad.id]
    assert "skipped 3 unreadable line(s)" in said(capsys)
