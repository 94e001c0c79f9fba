"""claude-flow: workflows whose steps call mcp tools, queued in Redis, state in Postgres."""
