"""Run llm steps against the llama service: POST /completion on LLAMA_URL (llama.cpp's server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from noa_common.health import describe_error
from noa_flow.llm_step import (
    LLM_TOOL,
    InvalidLlmArguments,
    completion_request,
    completion_result,
    validate_arguments,
)
from noa_flow.model import StepError

ToolCall = Callable[[str, dict[str, Any]], Awaitable[Any]]


class LlamaCompleter:
    """POST /completion on LLAMA_URL, bounded by the step timeout."""

    def __init__(self, llama_url: str, timeout: float, api_key: str = "",
                 transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.endpoint = llama_url.rstrip("/") + "/completion"
        self.timeout = timeout
        self.transport = transport
        # llama-server's --api-key (LLAMA_API_KEY).
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def complete(self, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            checked = validate_arguments(arguments)
        except InvalidLlmArguments as error:  # stored before validation existed: fail, do not crash
            raise StepError(f"llm: {error}") from None
        try:
            status, payload = await asyncio.wait_for(self._post(completion_request(checked)), self.timeout)
        except TimeoutError:
            raise StepError(f"llm timed out after {self.timeout:g}s") from None
        except Exception as error:  # refused (llama not deployed or restarting), reset: retryable
            raise StepError(f"llm: {describe_error(error)}") from error
        return completion_result(status, payload)

    async def _post(self, body: dict[str, Any]) -> tuple[int, Any]:
        client = httpx2.AsyncClient(timeout=self.timeout, trust_env=False, transport=self.transport,
                                    headers=self.headers)
        async with client as http:
            reply = await http.post(self.endpoint, json=body)
        try:
            payload = reply.json()
        except ValueError:
            payload = None
        return reply.status_code, payload


def route_steps(mcp_call: ToolCall, completer: LlamaCompleter) -> ToolCall:
    """One ToolCall for the executor: llm steps go to llama, every other tool to mcp."""

    async def call(tool: str, arguments: dict[str, Any]) -> Any:
        if tool == LLM_TOOL:
            return await completer.complete(arguments)
        return await mcp_call(tool, arguments)

    return call
