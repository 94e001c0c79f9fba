"""An asyncpg pool that survives Postgres being absent at start or restarting later.

The pool is created on first use (and again after a failed attempt), so a service that started
before Postgres recovers by itself. After a server restart, asyncpg notices the closed
connections and opens new ones on the next acquire.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from noa_common.env_catalogue import data_user, password_variable
from noa_common.settings import Settings

logger = logging.getLogger("noa.postgres")


async def _init_connection(connection: Any) -> None:
    # jsonb in and out as Python objects, so queries pass dicts and lists directly.
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class PostgresPool:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: Any = None
        self._lock = asyncio.Lock()

    def _pool_arguments(self) -> dict[str, Any]:
        s = self._settings
        return {
            "host": s.text("POSTGRES_HOST"),
            "port": s.integer("POSTGRES_PORT"),
            "user": data_user(s.service),
            "password": s.text(password_variable(s.service, "POSTGRES")),
            "database": s.text("POSTGRES_DB"),
            "ssl": s.text("POSTGRES_SSL_MODE"),
            "min_size": s.integer("DB_POOL_MIN"),
            "max_size": s.integer("DB_POOL_MAX"),
            "timeout": s.number("DB_CONNECT_TIMEOUT"),
            "command_timeout": s.number("DB_COMMAND_TIMEOUT"),
            "server_settings": {"application_name": f"noa-{s.service}"},
            "init": _init_connection,
        }

    async def pool(self) -> Any:
        """The asyncpg pool, created now if it does not exist yet (raises while Postgres is unreachable)."""
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(**self._pool_arguments())
                host = self._settings.text("POSTGRES_HOST")
                logger.info("postgres pool ready", extra={"postgres_host": host})
        return self._pool

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Any]:
        pool = await self.pool()
        async with pool.acquire(timeout=timeout) as connection:
            yield connection

    async def ping(self) -> None:
        async with self.connection() as connection:
            await connection.fetchval("SELECT 1")

    async def missing_tables(self, tables: Sequence[str]) -> list[str]:
        """Tables (schema.table) that do not exist; the schema is made by docker/init-db.sql, not by us."""
        async with self.connection() as connection:
            rows = await connection.fetch(
                "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL", list(tables))
        return [str(row["name"]) for row in rows]

    async def close(self, timeout: float) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            # A connection stuck in a query must not hold up the exit.
            pool.terminate()
