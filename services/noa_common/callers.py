"""Who may call a route: the API client a request's key names (noa_common/api_keys.py), or 401/403.

A route names the clients it serves: `require_client(request, "operator")`. No key, or one no
client holds, is 401 with a Bearer challenge; a key of another client is 403 naming who it is, so
a misrouted service credential is told apart from an attacker's guess.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from noa_common.api_keys import ApiKeys, Unauthenticated

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def unauthenticated(reason: str) -> HTTPException:
    return HTTPException(401, reason, CHALLENGE)


def forbidden(reason: str) -> HTTPException:
    return HTTPException(403, reason)


def api_keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.runtime.api_keys
    return keys


def identify_client(request: Request) -> str:
    """The client whose API key the request carries; 401 when there is none."""
    try:
        return api_keys(request).identify(request.headers.get("authorization"))
    except Unauthenticated as error:
        raise unauthenticated(str(error)) from None


def require_client(request: Request, *allowed: str) -> str:
    """The calling client, when it is one of `allowed`: else 401 (no valid key) or 403."""
    client = identify_client(request)
    if client not in allowed:
        raise forbidden(f"{client} may not call {request.method} {request.url.path}")
    return client
