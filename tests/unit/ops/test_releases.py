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
