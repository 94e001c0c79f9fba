"""JSON error responses for every service: clients get {"error": ...}, never an HTML page or a trace.

A dependency that is down (Postgres, Redis) is a 503 the client may retry, not a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

logger = logging.getLogger("noa.errors")

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    RedisConnectionError,
    RedisTimeoutError,
)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("dependency unavailable during %s %s: %s", request.method, request.url.path,
                   type(exc).__name__, extra={"error": str(exc)})
    return JSONResponse({"error": "a dependency is unavailable, retry later"}, status_code=503,
                        headers={"Retry-After": "5"})


async def unexpected(_request: Request, _exc: Exception) -> Response:
    # Starlette re-raises after this response, and uvicorn logs the traceback (as JSON): log once.
    return JSONResponse({"error": "internal error"}, status_code=500)


def exception_handlers() -> Mapping[Any, Any]:
    handlers: dict[Any, Any] = {HTTPException: http_error, Exception: unexpected}
    for error in UNAVAILABLE_ERRORS:
        handlers[error] = unavailable
    return handlers
