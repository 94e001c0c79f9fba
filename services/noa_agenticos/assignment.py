"""Which online agent gets a new task: the one with the fewest open tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def least_loaded(online_agent_ids: Sequence[str], open_tasks: Mapping[str, int]) -> str | None:
    """Fewest open tasks wins; ties go to the first in ``online_agent_ids`` (oldest registration),
    so assignment is deterministic. None when no agent is online."""
    best: str | None = None
    best_load = 0
    for agent_id in online_agent_ids:
        load = open_tasks.get(agent_id, 0)
        if best is None or load < best_load:
            best, best_load = agent_id, load
    return best
