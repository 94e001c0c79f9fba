"""Helpers shared by the services' unit tests."""

from __future__ import annotations

from typing import Any

from noa_common.api_keys import render_clients
from noa_flow.model import PendingStep

OPERATOR_KEY = "operator-key-value-0123456789-operator-key"
CLAUDE_FLOW_KEY = "claude-flow-key-value-0123456789-flow-key"
# Every secret the app services require, with values good enough for development.
SECRETS = {
    "MCP_POSTGRES_PASSWORD": "pg-mcp-value-1234", "CLAUDE_FLOW_POSTGRES_PASSWORD": "pg-flow-value-1234",
    "AGENTICOS_POSTGRES_PASSWORD": "pg-agenticos-value-1234", "MCP_REDIS_PASSWORD": "redis-mcp-value-5678",
    "CLAUDE_FLOW_REDIS_PASSWORD": "redis-flow-value-5678", "AGENTICOS_REDIS_PASSWORD": "redis-agenticos-5678",
    "JWT_SECRET": "jwt-key-value-9012-jwt-key-value-9012", "SESSION_SECRET": "session-key-value-3456",
    "ENCRYPTION_KEY": "ab" * 32, "CLAUDE_FLOW_API_KEY": CLAUDE_FLOW_KEY,
    "LLAMA_API_KEY": "llama-key-value-7890",
    "API_CLIENTS": render_clients({"operator": OPERATOR_KEY, "claude-flow": CLAUDE_FLOW_KEY}),
}
OPERATOR = {"Authorization": f"Bearer {OPERATOR_KEY}"}


def bearer(token: str) -> dict[str, str]:
    """The Authorization header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


class FakeStore:
    """A workflow store in memory: hands out `steps` and records each call in `events`."""

    def __init__(self, steps: list[PendingStep] | None) -> None:
        self.steps = steps
        self.events: list[tuple[Any, ...]] = []

    async def start(self, workflow_id: str) -> list[PendingStep] | None:
        self.events.append(("start",))
        return self.steps

    async def step_running(self, workflow_id: str, position: int) -> None:
        self.events.append(("running", position))

    async def step_finished(self, workflow_id: str, position: int, result: Any, error: str | None) -> None:
        self.events.append(("finished", position, result, error))

    async def step_retry(self, workflow_id: str, position: int, error: str) -> None:
        self.events.append(("retry", position, error))

    async def finish(self, workflow_id: str, result: Any, error: str | None) -> None:
        self.events.append(("finish", result, error))

    async def release(self, workflow_id: str) -> None:
        self.events.append(("release",))

    async def step_results(self, workflow_id: str) -> list[Any]:
        return [event[2] for event in self.events if event[0] == "finished"]
