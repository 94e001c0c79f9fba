"""mcp: a Model Context Protocol server (streamable HTTP at /mcp) over the noa_memory schema."""
