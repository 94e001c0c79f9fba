"""claude-flow's request validation and workflow control flow, with a fake store and tool caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from noa_flow.executor import ExecutionPolicy, run_workflow
from noa_flow.model import PendingStep, StepError
from noa_flow.workflow_request import InvalidRequest, parse_workflow_request

from .helpers import FakeStore


def steps(*tools: str) -> list[PendingStep]:
    return [PendingStep(index, tool, {"content": tool}, 0) for index, tool in enumerate(tools)]


POLICY = ExecutionPolicy(retry_attempts=2, retry_delay=0.0)


def run(store: FakeStore, call: Any, stopping: asyncio.Event | None = None) -> Any:
    return asyncio.run(run_workflow(store, call, "wf", POLICY, stopping or asyncio.Event()))


def test_steps_run_in_order_and_complete() -> None:
    calls: list[str] = []

    async def call(tool: str, arguments: dict[str, Any]) -> Any:
        calls.append(tool)
        return {"id": tool}

    store = FakeStore(steps("first", "second"))
    outcome = run(store, call)
    assert outcome.status == "completed"
    assert calls == ["first", "second"]
    assert store.events[-1] == ("finish", {"results": [{"id": "first"}, {"id": "second"}]}, None)


def test_a_failed_attempt_is_retried() -> None:
    attempts = 0

    async def flaky(tool: str, arguments: dict[str, Any]) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise StepError("mcp unreachable")
        return {"id": "ok"}

    store = FakeStore(steps("only"))
    assert run(store, flaky).status == "completed"
    assert ("retry", 0, "mcp unreachable") in store.events
    assert [event[0] for event in store.events].count("running") == 2


def test_exhausted_retries_fail_the_workflow_and_stop() -> None:
    calls: list[str] = []

    async def broken(tool: str, arguments: dict[str, Any]) -> Any:
        calls.append(tool)
        raise StepError(f"{tool} failed: Unknown tool")

    store = FakeStore(steps("bad", "never"))
    outcome = run(store, broken)
    assert outcome.status == "failed"
    assert calls == ["bad", "bad", "bad"]  # first attempt plus two retries; later steps never run
    assert outcome.error == "step 0 (bad) failed: bad failed: Unknown tool"
    assert store.events[-1] == ("finish", None, outcome.error)


def test_stopping_between_steps_releases_the_workflow() -> None:
    stopping = asyncio.Event()

    async def call(tool: str, arguments: dict[str, Any]) -> Any:
        stopping.set()  # a SIGTERM arrives while the first step runs
        return {"id": tool}

    store = FakeStore(steps("first", "second"))
    outcome = asyncio.run(run_workflow(store, call, "wf", POLICY, stopping))
    assert outcome.status == "interrupted"
    assert store.events[-1] == ("release",)
    assert ("finished", 0, {"id": "first"}, None) in store.events


def test_finished_or_missing_workflow_is_skipped() -> None:
    async def call(tool: str, arguments: dict[str, Any]) -> Any:
        raise AssertionError("must not run")

    assert run(FakeStore(None), call).status == "skipped"


def test_parse_workflow_request() -> None:
    request = parse_workflow_request({"name": " demo ", "steps": [
        {"tool": "memory_store", "arguments": {"content": "a"}}, {"tool": "memory_search"}]})
    assert request.name == "demo"
    assert [step.tool for step in request.steps] == ["memory_store", "memory_search"]
    assert request.steps[1].arguments == {}
    assert request.as_definition()["steps"][0] == {"tool": "memory_store", "arguments": {"content": "a"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "body must be a JSON object"),
        ({"steps": [{"tool": "x"}]}, "name must be a non-empty string"),
        ({"name": "n", "steps": []}, "steps must be a non-empty list"),
        ({"name": "n", "steps": ["x"]}, "steps[0] must be an object"),
        ({"name": "n", "steps": [{"tool": "bad tool"}]}, "steps[0].tool must be a tool name"),
        ({"name": "n", "steps": [{"tool": "t", "arguments": []}]}, "steps[0].arguments must be an object"),
        ({"name": "n", "steps": [{"tool": "t", "retries": 3}]}, "steps[0] has unknown keys: retries"),
        ({"name": "n", "steps": [{"tool": "t", "kind": "llm"}]}, "steps[0]: an llm step has no tool"),
        ({"name": "n", "steps": [{"kind": "shell"}]}, "steps[0].kind must be one of mcp, llm"),
        ({"name": "n", "steps": [{"kind": "llm", "arguments": {}}]}, "steps[0].arguments: prompt must be"),
        ({"name": "n", "steps": [{"tool": "t"}] * 101}, "at most 100 steps"),
    ],
)
def test_invalid_workflow_requests(body: Any, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_workflow_request(body)
