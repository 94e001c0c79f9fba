"""Plain data shared by the store, the executor and the MCP caller (no dependencies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PENDING, RUNNING, COMPLETED, FAILED, SKIPPED = "pending", "running", "completed", "failed", "skipped"


class StepError(Exception):
    """A step attempt failed: the tool reported an error, timed out, or mcp was unreachable."""


@dataclass(frozen=True)
class PendingStep:
    position: int
    tool: str
    arguments: dict[str, Any]
    attempts: int
