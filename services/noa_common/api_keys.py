"""Who is calling an API: bearer API keys checked against the SHA-256 digests of API_CLIENTS.

Each client that calls the APIs (the operator, claude-flow) holds a random key of its own; the
services read only the digests, `API_CLIENTS=operator:<64 hex>,claude-flow:<64 hex>`, so no
service can present another client's key. A presented key is hashed and compared with every
digest in constant time (hmac.compare_digest, no early exit), so the answer's timing says nothing
about which digest, or how much of one, matched. Agents prove who they are with the tokens
agenticos issues (noa_agenticos/tokens.py), not with these keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

OPERATOR = "operator"
CLAUDE_FLOW = "claude-flow"
CLIENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class Unauthenticated(Exception):
    """No credentials, or none this service knows: 401."""


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_clients(text: str) -> dict[str, bytes]:
    """`name:digest,...` -> name -> digest bytes; ValueError naming the entry at fault (never its digest)."""
    clients: dict[str, bytes] = {}
    for position, entry in enumerate((part.strip() for part in text.split(",")), start=1):
        if not entry:
            continue
        name, separator, digest = entry.partition(":")
        if not separator or not CLIENT_NAME.match(name):
            raise ValueError(f"entry {position} must be NAME:SHA256 with a lower-case name")
        if not _DIGEST.match(digest):
            raise ValueError(f"entry {position} ({name}) needs the key's sha256 as 64 lower-case hex digits")
        if name in clients:
            raise ValueError(f"entry {position}: client {name} is listed twice")
        clients[name] = bytes.fromhex(digest)
    return clients


def client_of(variable: str) -> str:
    """The client an API key variable belongs to: CLAUDE_FLOW_API_KEY -> claude-flow."""
    return variable.removesuffix("_API_KEY").lower().replace("_", "-")


def render_clients(keys: Mapping[str, str]) -> str:
    """The API_CLIENTS value for client name -> key (what the operator tools write)."""
    return ",".join(f"{name}:{key_digest(key)}" for name, key in keys.items())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; "" for a malformed header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class ApiKeys:
    def __init__(self, clients: Mapping[str, bytes]) -> None:
        self._clients = dict(clients)

    def knows(self, authorization: str | None) -> bool:
        """Whether the header carries the key of any client."""
        try:
            self.identify(authorization)
        except Unauthenticated:
            return False
        return True

    def identify(self, authorization: str | None) -> str:
        """The client whose key the header carries; Unauthenticated when none does."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated("credentials required: Authorization: Bearer <API key>")
        presented = hashlib.sha256(token.encode()).digest()
        found = ""
        for name, digest in self._clients.items():
            if hmac.compare_digest(presented, digest):
                found = name
        if not token or not found:
            raise Unauthenticated("the credentials are not valid")
        return found
