"""Call an mcp tool over streamable HTTP with the official MCP client (mcp SDK 2.x)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from noa_common.health import describe_error
from noa_flow.model import StepError


def tool_result_payload(structured: Any, texts: list[str]) -> Any:
    """What a step stores as its result: the structured content when the tool has one, else its text."""
    if structured is not None:
        return structured
    return {"text": "\n".join(texts)}


class McpToolCaller:
    def __init__(self, mcp_url: str, timeout: float, api_key: str = "") -> None:
        self.endpoint = mcp_url.rstrip("/") + "/mcp"
        self.timeout = timeout
        # claude-flow's own key (CLAUDE_FLOW_API_KEY): mcp knows claude-flow by its digest.
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        try:
            return await asyncio.wait_for(self._call(tool, arguments), self.timeout)
        except TimeoutError:
            raise StepError(f"{tool} timed out after {self.timeout:g}s") from None
        except StepError:
            raise
        except Exception as error:  # connection refused, protocol errors: all retryable step failures
            raise StepError(f"{tool}: {describe_error(error)}") from error

    async def _call(self, tool: str, arguments: dict[str, Any]) -> Any:
        # One session per attempt: a retry after an mcp restart starts from a clean connection.
        async with httpx2.AsyncClient(timeout=self.timeout, trust_env=False, headers=self.headers) as http:
            transport = streamable_http_client(self.endpoint, http_client=http)
            async with Client(transport, read_timeout_seconds=self.timeout) as client:
                result = await client.call_tool(tool, arguments)
        texts = [str(getattr(block, "text", "")) for block in result.content if hasattr(block, "text")]
        if result.is_error:
            raise StepError(f"{tool} failed: {' '.join(texts) or 'tool error'}")
        return tool_result_payload(result.structured_content, texts)
