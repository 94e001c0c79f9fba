"""The one clock of the operator tasks: UTC timestamps as every state file records them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_stamp(moment: datetime | None = None) -> str:
    """`2026-12-01T19:45:00Z`: the form of every time in .noa/ (releases, history, locks, builds)."""
    return (moment or utc_now()).strftime("%Y-%m-%dT%H:%M:%SZ")
