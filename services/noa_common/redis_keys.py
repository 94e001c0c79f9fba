"""Redis key names shared between services, in one place (claude-flow's queue, agent heartbeats)."""

from __future__ import annotations

# One job per workflow: JSON {"workflow_id": "<uuid>"}; RPUSH by the API, BLPOP by the workers.
FLOW_QUEUE = "noa:flow:queue"


def agent_heartbeat(agent_id: str) -> str:
    """Exists while the agent is online; its TTL is the agent's heartbeat TTL."""
    return f"noa:agent:{agent_id}:heartbeat"
