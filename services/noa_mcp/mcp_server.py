"""The MCP server: tools over the memory schema, served as streamable HTTP at /mcp."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute

from noa_common.errors import UNAVAILABLE_ERRORS
from noa_common.service_app import ServiceRuntime
from noa_mcp.agents import AgentView, list_agents
from noa_mcp.memory import MemoryHit, StoredMemory, search_memories, store_memory

MCP_PATH = "/mcp"

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


def transport_security() -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(ALLOWED_HOSTS),
        allowed_origins=list(ALLOWED_ORIGINS),
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


def build_mcp_server(runtime: ServiceRuntime) -> MCPServer:
    server = MCPServer(
        name="noa-mcp",
        instructions="Noa Server memory: store and search memories, list registered agents.",
    )

    @server.tool(description="Store a memory (text) in a namespace with optional tags; returns its id.")
    async def memory_store(
        content: str, namespace: str = "default", tags: list[str] | None = None
    ) -> StoredMemory:
        with tool_errors():
            return await store_memory(runtime.postgres, content, namespace, tags)

    @server.tool(description="Search memories of a namespace by text similarity; best matches first.")
    async def memory_search(query: str, namespace: str = "default", limit: int = 10) -> list[MemoryHit]:
        with tool_errors():
            return await search_memories(runtime.postgres, query, namespace, limit)

    @server.tool(description="List registered agents; status 'online'/'offline' filters by heartbeat.")
    async def agents_list(status: str | None = None) -> list[AgentView]:
        with tool_errors():
            return await list_agents(runtime.postgres, runtime.redis, status)

    return server


def mcp_routes(server: MCPServer) -> list[BaseRoute]:
    """The /mcp route, to sit beside the health routes on the service's own Starlette app.

    Stateless with JSON responses: any replica can answer any request (the HPA runs several behind
    one Service) and no SSE stream holds a connection open across a graceful shutdown.
    """
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=transport_security(),
        host="0.0.0.0",
    )
    return list(app.routes)
