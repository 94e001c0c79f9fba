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

    def agent_of(self, token: str) -> str | None:
        """The agent a valid, unexpired token names; None for anything else."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "iss"], "verify_exp": False})
        except jwt.InvalidTokenError:
            return None
        if int(claims["exp"]) <= int(self.clock()):
            return None
        return str(claims["sub"])

    def problem(self, token: str, agent_id: str) -> str | None:
        """Why the token does not authorise ``agent_id``, or None when it does."""
        try:
            # Expiry is checked below against the injected clock (pyjwt would use the wall clock).
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "iss"], "verify_exp": False})
        except jwt.InvalidTokenError:
            return "the agent token is invalid"
        if claims.get("sub") != agent_id:
            return "the agent token belongs to another agent"
        if int(claims["exp"]) <= int(self.clock()):
            return "the agent token has expired; register again for a new one"
        return None
