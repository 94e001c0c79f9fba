"""Validation of POST /workflows bodies: pure, so every rule is unit-tested without a server."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from noa_flow.llm_step import LLM_KIND, LLM_TOOL, InvalidLlmArguments, validate_arguments

MCP_KIND = "mcp"
STEP_KINDS = (MCP_KIND, LLM_KIND)
MAX_STEPS = 100
MAX_NAME_CHARS = 200
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


class InvalidRequest(ValueError):
    """The request body breaks a rule; the message is safe to show the client."""


@dataclass(frozen=True)
class StepRequest:
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def as_definition(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": self.arguments}


@dataclass(frozen=True)
class WorkflowRequest:
    name: str
    steps: tuple[StepRequest, ...]

    def as_definition(self) -> dict[str, Any]:
        return {"name": self.name, "steps": [step.as_definition() for step in self.steps]}


def parse_step(position: int, raw: Any) -> StepRequest:
    """An mcp tool call ({"tool", "arguments"}, kind "mcp" by default) or an llm step
    ({"kind": "llm", "arguments": {"prompt", ...}}; see noa_flow.llm_step)."""
    where = f"steps[{position}]"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where} must be an object with 'tool' and 'arguments'")
    unknown = set(raw) - {"kind", "tool", "arguments"}
    if unknown:
        raise InvalidRequest(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    kind = raw.get("kind", MCP_KIND)
    if kind not in STEP_KINDS:
        raise InvalidRequest(f"{where}.kind must be one of {', '.join(STEP_KINDS)}")
    arguments = raw.get("arguments", {})
    if not isinstance(arguments, dict):
        raise InvalidRequest(f"{where}.arguments must be an object")
    if kind == LLM_KIND:
        if "tool" in raw:
            raise InvalidRequest(f"{where}: an llm step has no tool")
        try:
            return StepRequest(LLM_TOOL, validate_arguments(arguments))
        except InvalidLlmArguments as error:
            raise InvalidRequest(f"{where}.arguments: {error}") from None
    tool = raw.get("tool")
    if not isinstance(tool, str) or not _TOOL_NAME.match(tool):
        raise InvalidRequest(f"{where}.tool must be a tool name (letters, digits, _ . -)")
    return StepRequest(tool, arguments)


def parse_workflow_request(body: Any, max_steps: int = MAX_STEPS) -> WorkflowRequest:
    """``max_steps`` is CLAUDE_FLOW_MAX_STEPS."""
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object with 'name' and 'steps'")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidRequest(f"name must be a non-empty string of at most {MAX_NAME_CHARS} characters")
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InvalidRequest("steps must be a non-empty list")
    if len(steps) > max_steps:
        raise InvalidRequest(f"at most {max_steps} steps")
    return WorkflowRequest(name.strip(), tuple(parse_step(index, raw) for index, raw in enumerate(steps)))
