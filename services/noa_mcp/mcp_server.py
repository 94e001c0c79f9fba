"""The MCP server: tools over the memory schema, served as streamable HTTP at /mcp."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.routing import BaseRoute

from noa_common.api_keys import CLAUDE_FLOW, OPERATOR, ApiKeys, Unauthenticated
from noa_common.errors import UNAVAILABLE_ERRORS
from noa_common.service_app import ServiceRuntime
from noa_mcp.agents import AgentView, list_agents
from noa_mcp.memory import MemoryHit, MemoryLimits, StoredMemory, search_memories, store_memory
from noa_mcp.sealing import MetadataSeal

MCP_PATH = "/mcp"
# The clients that may use the tools (their API keys: noa_common/api_keys.py), and the scope the
# SDK requires of every request.
MCP_CLIENTS = (OPERATOR, CLAUDE_FLOW)
TOOLS_SCOPE = "noa:tools"
# The SDK's settings need an issuer; with no authorization server routes it is never served.
ISSUER = "http://mcp:8001"

# DNS-rebinding protection stays on, but must accept every name the stack reaches us by: the
# compose/Kubernetes service name (claude-flow, agenticos, the ui proxy's default Host), loopback
# for published ports and the probe. ":*" matches any port.
ALLOWED_HOSTS = (
    "mcp", "mcp:*",
    "127.0.0.1", "127.0.0.1:*",
    "localhost", "localhost:*",
    "[::1]", "[::1]:*",
)
# Browsers send Origin: the dashboard is served from the published ui port on loopback.
ALLOWED_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")


def transport_security(extra_origins: Sequence[str] = ()) -> TransportSecuritySettings:
    """``extra_origins`` are CORS_ORIGIN's: browsers allowed cross-origin may use the tools too."""
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(ALLOWED_HOSTS),
        allowed_origins=[*ALLOWED_ORIGINS, *extra_origins],
    )


@contextmanager
def tool_errors() -> Iterator[None]:
    """Anticipated failures reach the caller as a readable tool error (is_error) instead of the SDK's
    generic "Error executing tool" plus a logged traceback."""
    try:
        yield
    except ValueError as error:
        raise ToolError(str(error)) from error
    except UNAVAILABLE_ERRORS as error:
        raise ToolError("the memory database is unavailable, retry later") from error


def memory_limits(runtime: ServiceRuntime) -> MemoryLimits:
    settings = runtime.settings
    return MemoryLimits(max_content_chars=settings.integer("MCP_MEMORY_MAX_CHARS"),
                        max_results=settings.integer("MCP_SEARCH_MAX_RESULTS"))


def metadata_seal(runtime: ServiceRuntime) -> MetadataSeal:
    invalid = any(problem.variable == "ENCRYPTION_KEY" for problem in runtime.settings.problems)
    return MetadataSeal(None if invalid else runtime.settings.text("ENCRYPTION_KEY"))


class ApiKeyVerifier:
    """The MCP SDK's TokenVerifier over the shared API keys: a bearer key of a client that may use
    the tools gets the tools scope; another known client's gets none (the SDK answers 403); an
    unknown one is refused (401)."""

    def __init__(self, keys: ApiKeys, allowed: Sequence[str] = MCP_CLIENTS) -> None:
        self.keys = keys
        self.allowed = tuple(allowed)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            client = self.keys.identify(f"Bearer {token}")
        except Unauthenticated:
            return None
        scopes = [TOOLS_SCOPE] if client in self.allowed else []
        return AccessToken(token="", client_id=client, scopes=scopes)


def auth_settings() -> AuthSettings:
    """A resource server only: no authorization server routes, no resource metadata; the verifier
    is the whole check (there is no audience in an API key to compare)."""
    return AuthSettings(issuer_url=AnyHttpUrl(ISSUER), resource_server_url=None,
                        validate_token_resource=False, required_scopes=[TOOLS_SCOPE])


def build_mcp_server(runtime: ServiceRuntime) -> MCPServer:
    seal = metadata_seal(runtime)
    limits = memory_limits(runtime)
    server = MCPServer(
        name="noa-mcp",
        version=runtime.version,
        instructions="Noa Server memory: store and search memories, list registered agents.",
        token_verifier=ApiKeyVerifier(runtime.api_keys),
        auth=auth_settings(),
    )

    @server.tool(description="Store a memory (text) in a namespace with optional tags and optional "
                             "secret_metadata (an object encrypted at rest); returns its id.")
    async def memory_store(
        content: str, namespace: str = "default", tags: list[str] | None = None,
        secret_metadata: dict[str, Any] | None = None,
    ) -> StoredMemory:
        with tool_errors():
            return await store_memory(runtime.postgres, seal, limits, content, namespace, tags,
                                      secret_metadata=secret_metadata)

    @server.tool(description="Search memories of a namespace by text similarity; best matches first.")
    async def memory_search(query: str, namespace: str = "default", limit: int = 10) -> list[MemoryHit]:
        with tool_errors():
            return await search_memories(runtime.postgres, seal, limits, query, namespace, limit)

    @server.tool(description="List registered agents; status 'online'/'offline' filters by heartbeat.")
    async def agents_list(status: str | None = None) -> list[AgentView]:
        with tool_errors():
            return await list_agents(runtime.postgres, runtime.redis, status)

    return server


def mcp_routes(server: MCPServer, extra_origins: Sequence[str] = ()) -> list[BaseRoute]:
    """The /mcp route, to sit beside the health routes on the service's own Starlette app.

    Stateless with JSON responses: any replica can answer any request (the HPA runs several behind
    one Service) and no SSE stream holds a connection open across a graceful shutdown.
    """
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=transport_security(extra_origins),
        host="0.0.0.0",
    )
    # The SDK puts its bearer authentication on the app it builds, around every route: keep it on
    # the routes this service mounts beside its own (outermost first, as Starlette applies them).
    routes = list(app.routes)
    for route in routes:
        for middleware in reversed(app.user_middleware):
            route.app = middleware.cls(route.app, *middleware.args, **middleware.kwargs)  # type: ignore[attr-defined]
    return routes
