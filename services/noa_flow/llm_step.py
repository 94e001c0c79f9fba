"""The `llm` step kind: what it accepts and how it maps onto llama.cpp's POST /completion (pure).

A workflow step is either an mcp tool call (``{"tool": ..., "arguments": ...}``) or an llm step
(``{"kind": "llm", "arguments": {"prompt": ...}}``). Steps are stored as (tool, arguments); an llm
step's tool is LLM_TOOL, a name no mcp tool can have (tool names never contain ':'), so the table
needs no new column and existing databases keep working. The step's result is the generated text
with llama.cpp's token counts. noa_flow.llama_caller does the I/O.
"""

from __future__ import annotations

import math
from typing import Any

from noa_flow.model import StepError

LLM_KIND = "llm"
LLM_TOOL = "llm:completion"
MAX_PROMPT_CHARS = 32_000
MAX_TOKENS_LIMIT = 2048
DEFAULT_MAX_TOKENS = 64
MAX_STOP_STRINGS = 4
_ALLOWED = frozenset({"prompt", "max_tokens", "temperature", "seed", "stop"})


class InvalidLlmArguments(ValueError):
    """An llm step's arguments break a rule; the message is safe to show the client."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """The llm step's arguments with defaults filled in; InvalidLlmArguments says what is wrong."""
    unknown = set(arguments) - _ALLOWED
    if unknown:
        raise InvalidLlmArguments(f"unknown llm arguments: {', '.join(sorted(unknown))}")
    prompt = arguments.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidLlmArguments(f"prompt must be a non-empty string of at most {MAX_PROMPT_CHARS} chars")
    checked: dict[str, Any] = {"prompt": prompt}
    max_tokens = arguments.get("max_tokens", DEFAULT_MAX_TOKENS)
    if not _is_int(max_tokens) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise InvalidLlmArguments(f"max_tokens must be an integer from 1 to {MAX_TOKENS_LIMIT}")
    checked["max_tokens"] = max_tokens
    if "temperature" in arguments:
        temperature = arguments["temperature"]
        valid = isinstance(temperature, int | float) and not isinstance(temperature, bool)
        if not valid or not math.isfinite(temperature) or not 0 <= temperature <= 2:
            raise InvalidLlmArguments("temperature must be a number from 0 to 2")
        checked["temperature"] = float(temperature)
    if "seed" in arguments:
        if not _is_int(arguments["seed"]) or arguments["seed"] < 0:
            raise InvalidLlmArguments("seed must be a non-negative integer")
        checked["seed"] = arguments["seed"]
    if "stop" in arguments:
        stop = arguments["stop"]
        if (not isinstance(stop, list) or len(stop) > MAX_STOP_STRINGS
                or not all(isinstance(item, str) and item for item in stop)):
            raise InvalidLlmArguments(f"stop must be a list of at most {MAX_STOP_STRINGS} non-empty strings")
        checked["stop"] = list(stop)
    return checked


def completion_request(arguments: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp's /completion body for validated step arguments."""
    body: dict[str, Any] = {
        "prompt": arguments["prompt"],
        "n_predict": arguments.get("max_tokens", DEFAULT_MAX_TOKENS),
        "stream": False,
        # Each step stands alone: nothing of an earlier workflow's prompt is reused by chance.
        "cache_prompt": False,
    }
    for name in ("temperature", "seed", "stop"):
        if name in arguments:
            body[name] = arguments[name]
    return body


def completion_result(status: int, payload: Any) -> dict[str, Any]:
    """The step result from llama's answer; StepError (retried) for anything but a completion."""
    if status == 503:
        raise StepError("llm: llama is not ready (loading the model); retrying")
    if status != 200:
        message = payload.get("error", {}).get("message") if isinstance(payload, dict) and isinstance(
            payload.get("error"), dict) else None
        raise StepError(f"llm: llama answered {status}{': ' + str(message) if message else ''}")
    if not isinstance(payload, dict) or not isinstance(payload.get("content"), str):
        raise StepError("llm: llama's answer has no generated content")
    return {
        "text": payload["content"],
        "tokens_predicted": int(payload.get("tokens_predicted") or 0),
        "tokens_evaluated": int(payload.get("tokens_evaluated") or 0),
        "stop_type": str(payload.get("stop_type") or ""),
    }
