"""Agent tokens: HS256 JWTs (JWT_SECRET) naming one agent, valid for JWT_EXPIRY seconds.

agenticos issues one on every registration; the agent sends it (Authorization: Bearer) with its
heartbeats, its task completions and its own re-registration, and nothing else accepts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

ALGORITHM = "HS256"
ISSUER = "noa-agenticos"


class AgentTokens:
    def __init__(self, secret: str, expiry: int, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self.expiry = expiry
        self.clock = clock

    def issue(self, agent_id: str) -> str:
        now = int(self.clock())
        claims = {"sub": agent_id, "iss": ISSUER, "iat": now, "exp": now + self.expiry}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _claims(self, token: str) -> dict[str, object] | None:
        """The claims of a token this service signed, expiry not yet checked; None if it did not."""
        try:
            # Expiry is checked by the callers against the injected clock (pyjwt would use the wall clock).
            claims: dict[str, object] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"], "verify_exp": False})
        except jwt.InvalidTokenError:
            return None
        return claims

    def _expired(self, claims: dict[str, object]) -> bool:
        return int(str(claims["exp"])) <= int(self.clock())

    def agent_of(self, token: str) -> str | None:
        """The agent a valid, unexpired token names; None for anything else."""
        claims = self._claims(token)
        if claims is None or self._expired(claims):
            return None
        return str(claims["sub"])

    def problem(self, token: str, agent_id: str) -> str | None:
        """Why the token does not authorise ``agent_id``, or None when it does."""
        claims = self._claims(token)
        if claims is None:
            return "the agent token is invalid"
        if claims.get("sub") != agent_id:
            return "the agent token belongs to another agent"
        if self._expired(claims):
            return "the agent token has expired; register again for a new one"
        return None
