"""claude-flow's llm steps: argument rules, the llama.cpp request/answer mapping, and the HTTP call
(through httpx2's MockTransport: no server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from noa_flow.executor import ExecutionPolicy, run_workflow
from noa_flow.llama_caller import LlamaCompleter, route_steps
from noa_flow.llm_step import (
    DEFAULT_MAX_TOKENS,
    LLM_TOOL,
    InvalidLlmArguments,
    completion_request,
    completion_result,
    validate_arguments,
)
from noa_flow.model import PendingStep, StepError
from noa_flow.workflow_request import parse_workflow_request

from .helpers import FakeStore

ANSWER = {"content": " Paris.", "tokens_predicted": 3, "tokens_evaluated": 6, "stop_type": "eos",
          "timings": {"predicted_per_second": 40.0}}


def test_defaults_are_filled_in() -> None:
    assert validate_arguments({"prompt": "Hi"}) == {"prompt": "Hi", "max_tokens": DEFAULT_MAX_TOKENS}


def test_every_option_passes_through_to_llama() -> None:
    checked = validate_arguments(
        {"prompt": "Hi", "max_tokens": 8, "temperature": 0, "seed": 7, "stop": ["\n"]}
    )
    assert completion_request(checked) == {
        "prompt": "Hi", "n_predict": 8, "stream": False, "cache_prompt": False,
        "temperature": 0.0, "seed": 7, "stop": ["\n"],
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "prompt must be"),
        ({"prompt": "   "}, "prompt must be"),
        ({"prompt": "x" * 32_001}, "prompt must be"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens must be"),
        ({"prompt": "x", "max_tokens": True}, "max_tokens must be"),
        ({"prompt": "x", "max_tokens": 5000}, "max_tokens must be"),
        ({"prompt": "x", "temperature": 3}, "temperature must be"),
        ({"prompt": "x", "temperature": float("nan")}, "temperature must be"),
        ({"prompt": "x", "seed": -1}, "seed must be"),
        ({"prompt": "x", "stop": "\n"}, "stop must be"),
        ({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, "stop must be"),
        ({"prompt": "x", "n_predict": 4}, "unknown llm arguments: n_predict"),
    ],
)
def test_invalid_arguments_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidLlmArguments, match=message):
        validate_arguments(arguments)


def test_a_workflow_request_stores_an_llm_step_as_its_reserved_tool() -> None:
    request = parse_workflow_request({"name": "w", "steps": [
        {"kind": "llm", "arguments": {"prompt": "Say hi", "max_tokens": 4}},
        {"tool": "memory_store", "arguments": {"key": "k"}},
        {"kind": "mcp", "tool": "memory_search"},
    ]})
    assert [step.tool for step in request.steps] == [LLM_TOOL, "memory_store", "memory_search"]
    assert request.steps[0].arguments == {"prompt": "Say hi", "max_tokens": 4}
    # No mcp tool can be named like an llm step: ':' is outside the tool-name alphabet.
    with pytest.raises(ValueError, match="tool must be a tool name"):
        parse_workflow_request({"name": "w", "steps": [{"tool": LLM_TOOL}]})


def test_the_result_is_the_generated_text_with_token_counts() -> None:
    assert completion_result(200, ANSWER) == {
        "text": " Paris.", "tokens_predicted": 3, "tokens_evaluated": 6, "stop_type": "eos",
    }


@pytest.mark.parametrize(
    ("status", "payload", "message"),
    [
        (503, {"error": {"code": 503, "message": "Loading model"}}, "not ready"),
        (400, {"error": {"code": 400, "message": "bad prompt"}}, "answered 400: bad prompt"),
        (500, None, "answered 500"),
        (200, {"tokens_predicted": 1}, "no generated content"),
    ],
)
def test_anything_but_a_completion_is_a_step_error(status: int, payload: Any, message: str) -> None:
    with pytest.raises(StepError, match=message):
        completion_result(status, payload)


def completer(handler: Any, timeout: float = 5.0) -> LlamaCompleter:
    return LlamaCompleter("http://llama:9300/", timeout, transport=httpx2.MockTransport(handler))


def test_completer_posts_to_completion() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.method, str(request.url), json.loads(request.content)))
        return httpx2.Response(200, json=ANSWER)

    result = asyncio.run(completer(handler).complete({"prompt": "Capital of France?", "max_tokens": 3}))
    assert result["text"] == " Paris."
    assert seen == [("POST", "http://llama:9300/completion", {
        "prompt": "Capital of France?", "n_predict": 3, "stream": False, "cache_prompt": False,
    })]


def test_unreachable_llama_is_a_retryable_step_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    with pytest.raises(StepError, match="llm: "):
        asyncio.run(completer(handler).complete({"prompt": "x"}))


def test_a_slow_llama_times_out() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(1)
        return httpx2.Response(200, json=ANSWER)

    with pytest.raises(StepError, match=r"timed out after 0\.05s"):
        asyncio.run(completer(handler, timeout=0.05).complete({"prompt": "x"}))


def test_stored_arguments_are_validated_again() -> None:
    with pytest.raises(StepError, match="llm: prompt must be"):
        asyncio.run(completer(lambda request: httpx2.Response(200, json=ANSWER)).complete({}))


def test_an_llm_step_completes_a_workflow_and_mcp_steps_still_go_to_mcp() -> None:
    mcp_calls: list[str] = []

    async def mcp(tool: str, arguments: dict[str, Any]) -> Any:
        mcp_calls.append(tool)
        return {"ok": True}

    call = route_steps(mcp, completer(lambda request: httpx2.Response(200, json=ANSWER)))
    store = FakeStore([PendingStep(0, LLM_TOOL, {"prompt": "Capital?"}, 0),
                       PendingStep(1, "memory_store", {}, 0)])
    outcome = asyncio.run(run_workflow(store, call, "w1", ExecutionPolicy(retry_attempts=0), asyncio.Event()))
    assert outcome.status == "completed"
    assert mcp_calls == ["memory_store"]
    finished = [event for event in store.events if event[0] == "finished"]
    assert finished[0][2]["text"] == " Paris." and finished[0][3] is None
