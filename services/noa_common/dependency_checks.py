"""The readiness checks of the health contract, one factory per kind of dependency."""

from __future__ import annotations

import httpx2
from redis.asyncio import Redis

from noa_common import redis_store
from noa_common.health import Check
from noa_common.postgres import PostgresPool


def postgres_check(postgres: PostgresPool) -> Check:
    return Check("postgres", postgres.ping)


def redis_check(client: Redis) -> Check:
    async def run() -> None:
        await redis_store.ping(client)

    return Check("redis", run)


def http_health_check(name: str, base_url: str, client: httpx2.AsyncClient) -> Check:
    """GET <base_url>/health (liveness of a peer service: its own readiness is its business)."""
    url = base_url.rstrip("/") + "/health"

    async def run() -> None:
        response = await client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")

    return Check(name, run)
