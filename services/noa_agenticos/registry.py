"""Agents in noa_agents.agents, online while their Redis heartbeat key lives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from noa_agenticos.payloads import AgentRegistration
from noa_common.agent_presence import online_agent_ids, presence_status
from noa_common.postgres import PostgresPool
from noa_common.redis_keys import agent_heartbeat

# Serialises registrations so AGENTICOS_MAX_AGENTS holds under concurrent requests.
_REGISTER_LOCK = 0x6E6F6101

_UPSERT = """
INSERT INTO noa_agents.agents (name, type, capabilities, metadata, status, last_heartbeat_at)
VALUES ($1, $2, $3, $4, 'registered', now())
ON CONFLICT (name) DO UPDATE SET
    type = EXCLUDED.type,
    capabilities = EXCLUDED.capabilities,
    metadata = EXCLUDED.metadata,
    status = 'registered',
    last_heartbeat_at = now()
RETURNING id, (xmax = 0) AS created
"""

_COLUMNS = "id, name, type, status, capabilities, metadata, last_heartbeat_at, created_at, updated_at"


class TooManyAgents(Exception):
    pass


class NotAllowed(Exception):
    """The caller may not make this registration (a new name needs the operator, an existing one
    its own agent): 403."""


@dataclass(frozen=True)
class Registrant:
    """Who registers: the operator (may add new names) or the agent of `agent_id` (may renew its own)."""

    operator: bool = False
    agent_id: str | None = None


@dataclass(frozen=True)
class Registered:
    agent_id: str
    created: bool
    ttl: int


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def agent_view(row: Any, online: bool) -> dict[str, Any]:
    metadata = dict(row["metadata"] or {})
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "type": row["type"],
        "capabilities": list(row["capabilities"] or []),
        "metadata": metadata,
        "heartbeat_ttl": metadata.get("heartbeat_ttl"),
        "online": online,
        # The API's status is presence; the stored column only says the agent is registered.
        "status": presence_status(online),
        "last_heartbeat_at": _iso(row["last_heartbeat_at"]),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


class AgentRegistry:
    def __init__(self, postgres: PostgresPool, redis: Redis, default_ttl: int, max_agents: int) -> None:
        self.postgres = postgres
        self.redis = redis
        self.default_ttl = default_ttl
        self.max_agents = max_agents

    async def register(self, registration: AgentRegistration, registrant: Registrant) -> Registered:
        """Add or renew the agent of this name; an existing name only by its own agent (takeover
        refused), a new one only by the operator. Checked under the registration lock."""
        ttl = registration.heartbeat_ttl or self.default_ttl
        # The per-agent TTL lives with the agent, so later heartbeats renew with the same TTL.
        metadata = {**registration.metadata, "heartbeat_ttl": ttl}
        async with self.postgres.connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _REGISTER_LOCK)
            existing = await connection.fetchval(
                "SELECT id FROM noa_agents.agents WHERE name = $1", registration.name)
            if existing is not None and str(existing) != registrant.agent_id:
                raise NotAllowed(f"agent {registration.name} is registered: only its own token may "
                                 f"register it again")
            if existing is None and not registrant.operator:
                raise NotAllowed("registering a new agent needs the operator's API key")
            if existing is None:
                count = await connection.fetchval("SELECT count(*) FROM noa_agents.agents")
                if count >= self.max_agents:
                    raise TooManyAgents(f"at most {self.max_agents} agents may be registered")
            row = await connection.fetchrow(_UPSERT, registration.name, registration.type,
                                            list(registration.capabilities), metadata)
        agent_id = str(row["id"])
        await self.redis.set(agent_heartbeat(agent_id), "1", ex=ttl)
        return Registered(agent_id, bool(row["created"]), ttl)

    async def heartbeat(self, agent_id: str) -> dict[str, Any] | None:
        async with self.postgres.connection() as connection:
            row = await connection.fetchrow(
                f"UPDATE noa_agents.agents SET last_heartbeat_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
                uuid.UUID(agent_id))
        if row is None:
            return None
        ttl = int((row["metadata"] or {}).get("heartbeat_ttl") or self.default_ttl)
        await self.redis.set(agent_heartbeat(agent_id), "1", ex=ttl)
        return agent_view(row, online=True)

    async def get(self, agent_id: str) -> dict[str, Any] | None:
        async with self.postgres.connection() as connection:
            row = await connection.fetchrow(
                f"SELECT {_COLUMNS} FROM noa_agents.agents WHERE id = $1", uuid.UUID(agent_id))
        if row is None:
            return None
        online = bool(await self.redis.exists(agent_heartbeat(agent_id)))
        return agent_view(row, online)

    async def all(self) -> list[dict[str, Any]]:
        async with self.postgres.connection() as connection:
            rows = await connection.fetch(
                f"SELECT {_COLUMNS} FROM noa_agents.agents ORDER BY created_at, name")
        online = await online_agent_ids(self.redis, [str(row["id"]) for row in rows])
        return [agent_view(row, str(row["id"]) in online) for row in rows]

    async def online_ids(self) -> list[str]:
        """Online agents, oldest registration first (the tie-break order of task assignment)."""
        return [agent["id"] for agent in await self.all() if agent["online"]]
