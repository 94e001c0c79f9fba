"""The agents registered with agenticos, as the agents_list tool shows them."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from typing_extensions import TypedDict

from noa_common.agent_presence import OFFLINE, ONLINE, online_agent_ids, presence_status
from noa_common.postgres import PostgresPool

PRESENCE_FILTERS = (ONLINE, OFFLINE)

_SELECT = """
SELECT id, name, type, status, capabilities, last_heartbeat_at
FROM noa_agents.agents
WHERE $1::text IS NULL OR status = $1
ORDER BY name
"""


class AgentView(TypedDict):
    id: str
    name: str
    type: str
    status: str
    online: bool
    capabilities: list[Any]
    last_heartbeat_at: str | None


async def list_agents(postgres: PostgresPool, redis: Redis, status: str | None) -> list[AgentView]:
    """``status`` online/offline filters by heartbeat; any other value by the stored registration status."""
    stored_filter = None if status is None or status in PRESENCE_FILTERS else status
    async with postgres.connection() as connection:
        rows = await connection.fetch(_SELECT, stored_filter)
    online = await online_agent_ids(redis, [str(row["id"]) for row in rows])
    agents: list[AgentView] = []
    for row in rows:
        agent_id = str(row["id"])
        is_online = agent_id in online
        heartbeat = row["last_heartbeat_at"]
        agents.append({
            "id": agent_id,
            "name": row["name"],
            "type": row["type"],
            "status": presence_status(is_online),
            "online": is_online,
            "capabilities": list(row["capabilities"] or []),
            "last_heartbeat_at": heartbeat.isoformat() if heartbeat else None,
        })
    if status in PRESENCE_FILTERS:
        agents = [agent for agent in agents if agent["status"] == status]
    return agents
