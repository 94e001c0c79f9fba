"""The Redis client of a service (redis.asyncio), authenticated and self-healing.

redis-py opens a new connection for the next command after a failure, so a Redis restart costs
only the commands that ran during it; retries are few and short so a health check answers within
its timeout instead of hanging in backoff.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from noa_common.env_catalogue import data_user, password_variable
from noa_common.settings import Settings

# Blocking pops (the claude-flow queue) wait at most this long per call, below the socket timeout
# (REDIS_SOCKET_TIMEOUT must exceed it: the catalogue's rule).
BLOCKING_POP_SECONDS = 1


def create_redis(settings: Settings) -> Redis:
    socket_timeout = settings.number("REDIS_SOCKET_TIMEOUT")
    return Redis(
        host=settings.text("REDIS_HOST"),
        port=settings.integer("REDIS_PORT"),
        username=data_user(settings.service),
        password=settings.text(password_variable(settings.service, "REDIS")),
        db=settings.integer("REDIS_DB"),
        decode_responses=True,
        socket_connect_timeout=min(settings.number("HEALTH_CHECK_TIMEOUT"), socket_timeout),
        socket_timeout=socket_timeout,
        # rediss: TLS with the certificate verified against the system CAs.
        ssl=settings.flag("REDIS_TLS"),
        ssl_cert_reqs="required",
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        client_name=f"noa-{settings.service}",
        # No CLIENT SETINFO at connect: the ACL user may run only the commands the service uses.
        driver_info=None,
    )


async def ping(client: Redis) -> None:
    """An authenticated PING: without the service's own user and password Redis answers NOAUTH or
    WRONGPASS, which raises here."""
    if not await client.ping():
        raise RuntimeError("redis did not answer PONG")
