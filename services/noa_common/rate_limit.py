"""A per-client limit on write requests (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW seconds), in process.

Fixed windows per client: cheap and predictable. A request carrying a known API key counts against
that client (noa_common/api_keys.py), wherever it comes from, so callers behind the ui proxy do not
share one budget; anything else (no key, an agent's token, a wrong key) counts against its address.
Each replica counts on its own, so the limit a client meets behind N replicas is up to N times
higher; it protects a process from one noisy client, it is no quota.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from noa_common.api_keys import ApiKeys, Unauthenticated

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Forget idle clients once this many are tracked, so the table cannot grow without bound.
PRUNE_AT = 10_000


@dataclass
class _Window:
    started: float
    count: int


class FixedWindowLimiter:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def acquire(self, client: str) -> float:
        """0.0 when the request may pass, else the seconds until the client's window resets."""
        now = self.clock()
        if len(self._windows) >= PRUNE_AT:
            self._windows = {key: w for key, w in self._windows.items() if now - w.started < self.window}
        current = self._windows.get(client)
        if current is None or now - current.started >= self.window:
            self._windows[client] = _Window(now, 1)
            return 0.0
        if current.count >= self.limit:
            return self.window - (now - current.started)
        current.count += 1
        return 0.0


class RateLimitMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streamed responses pass through untouched."""

    def __init__(self, app: ASGIApp, limiter: FixedWindowLimiter, keys: ApiKeys | None = None) -> None:
        self.app = app
        self.limiter = limiter
        self.keys = keys or ApiKeys({})

    def bucket(self, scope: Scope) -> str:
        """`client:<name>` for a known API key, else `address:<ip>`."""
        try:
            return f"client:{self.keys.identify(Headers(scope=scope).get('authorization'))}"
        except Unauthenticated:
            client = scope.get("client")
            return f"address:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.acquire(self.bucket(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "too many write requests, retry later"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, math.ceil(wait))).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
