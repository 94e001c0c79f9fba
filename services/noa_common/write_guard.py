"""What a write request must be before any route sees it: from no foreign origin, JSON, and small.

For POST, PUT, PATCH and DELETE:
- an `Origin` header that is not one of CORS_ORIGIN's origins: 403 (a page in the operator's
  browser cannot post to the APIs; clients other than browsers send no Origin);
- a body whose media type is not `application/json`: 415 (a browser sends text/plain, form and
  multipart bodies cross-origin without asking first; JSON needs a CORS preflight, which fails);
  a write without a body (a heartbeat, MCP's session DELETE) needs no Content-Type;
- a body over HTTP_MAX_BODY_BYTES: 413, from Content-Length before reading anything, or while
  reading a body sent without one (it is read up to the limit, then handed to the route whole).
Pure ASGI, like the rate limiter, so streamed responses pass through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from noa_common.rate_limit import WRITE_METHODS

JSON_MEDIA_TYPE = "application/json"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def refusal(scope: Scope, allowed_origins: frozenset[str], max_body: int) -> tuple[int, str] | None:
    """(status, reason) for a write that may not reach a route, from its headers alone; None: read on."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is not None and origin.rstrip("/") not in allowed_origins:
        return 403, "cross-origin writes are refused (CORS_ORIGIN names the origins allowed)"
    length = headers.get("content-length")
    if length is not None and not length.strip().isdigit():
        return 400, "Content-Length must be a number"
    if length is not None and int(length) > max_body:
        return 413, f"request body over {max_body} bytes"
    has_body = int(length) > 0 if length is not None else headers.get("transfer-encoding") is not None
    if has_body and media_type(headers.get("content-type")) != JSON_MEDIA_TYPE:
        return 415, "write requests with a body must be Content-Type: application/json"
    return None


async def respond(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"error": reason}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


class WriteGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body: int, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self.allowed_origins = frozenset(origin.rstrip("/") for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        refused = refusal(scope, self.allowed_origins, self.max_body)
        if refused is not None:
            await respond(send, *refused)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await respond(send, 413, f"request body over {self.max_body} bytes")
                return
            more = bool(message.get("more_body", False))
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read once, then whatever the server sends next (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
