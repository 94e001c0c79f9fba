"""``python -m noa_mcp``: serve the mcp service on 0.0.0.0:$MCP_PORT."""

from noa_common.server import serve

if __name__ == "__main__":
    serve("mcp", "noa_mcp.app:create_app")
