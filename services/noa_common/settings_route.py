"""GET /settings: the values a service parsed from its environment, for the operator only.

Secrets are left out; an invalid variable is listed by name in "problems" (its value is the
default it fell back to). The same values are logged once at start (build_app)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from noa_common.api_keys import OPERATOR
from noa_common.callers import require_client
from noa_common.settings import Settings


def settings_route(settings: Settings) -> Route:
    body = {"service": settings.service, "settings": settings.shown(),
            "problems": sorted({problem.variable for problem in settings.problems})}

    async def show(request: Request) -> JSONResponse:
        """The parsed settings, secrets left out (operator key)."""
        require_client(request, OPERATOR)
        return JSONResponse(body)

    return Route("/settings", show, methods=["GET"])
