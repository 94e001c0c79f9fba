"""Whether agents are online: their heartbeat key exists in Redis (read by agenticos and mcp)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from noa_common.redis_keys import agent_heartbeat

ONLINE = "online"
OFFLINE = "offline"


def presence_status(online: bool) -> str:
    return ONLINE if online else OFFLINE


async def online_agent_ids(client: Redis, agent_ids: Sequence[str]) -> set[str]:
    """The subset of ``agent_ids`` with a live heartbeat, in one round trip."""
    if not agent_ids:
        return set()
    async with client.pipeline(transaction=False) as pipe:
        for agent_id in agent_ids:
            pipe.exists(agent_heartbeat(agent_id))
        answers = await pipe.execute()
    return {agent_id for agent_id, exists in zip(agent_ids, answers, strict=True) if exists}
