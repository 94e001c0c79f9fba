"""Run one workflow: its unfinished steps in order, each retried, state written as it goes.

The store and the tool caller are passed in, so the control flow (retries, failure, resume after a
shutdown) is unit-tested with fakes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from noa_flow.model import PendingStep, StepError

logger = logging.getLogger("noa.flow.executor")

ToolCall = Callable[[str, dict[str, Any]], Awaitable[Any]]


class Store(Protocol):
    async def start(self, workflow_id: str) -> list[PendingStep] | None: ...
    async def step_running(self, workflow_id: str, position: int) -> None: ...
    async def step_finished(
        self, workflow_id: str, position: int, result: Any, error: str | None
    ) -> None: ...
    async def step_retry(self, workflow_id: str, position: int, error: str) -> None: ...
    async def finish(self, workflow_id: str, result: Any, error: str | None) -> None: ...
    async def release(self, workflow_id: str) -> None: ...
    async def step_results(self, workflow_id: str) -> list[Any]: ...


@dataclass(frozen=True)
class Outcome:
    status: str  # completed | failed | interrupted | skipped
    error: str | None = None


@dataclass(frozen=True)
class ExecutionPolicy:
    retry_attempts: int  # retries after the first attempt
    retry_delay: float = 0.5


async def run_step(store: Store, call: ToolCall, workflow_id: str, step: PendingStep,
                   policy: ExecutionPolicy) -> str | None:
    """Run one step with retries; returns None on success, else the last error."""
    error = ""
    for attempt in range(policy.retry_attempts + 1):
        await store.step_running(workflow_id, step.position)
        try:
            result = await call(step.tool, step.arguments)
        except StepError as failure:
            error = str(failure)
            logger.warning("step failed", extra={"workflow_id": workflow_id, "position": step.position,
                                                 "attempt": attempt + 1, "error": error})
            if attempt < policy.retry_attempts:
                await store.step_retry(workflow_id, step.position, error)
                await asyncio.sleep(policy.retry_delay * (attempt + 1))
            continue
        await store.step_finished(workflow_id, step.position, result, None)
        return None
    await store.step_finished(workflow_id, step.position, None, error)
    return error


async def run_workflow(store: Store, call: ToolCall, workflow_id: str, policy: ExecutionPolicy,
                       stopping: asyncio.Event) -> Outcome:
    steps = await store.start(workflow_id)
    if steps is None:
        return Outcome("skipped")
    for step in steps:
        if stopping.is_set():
            # Shutting down between steps: hand the rest to whichever worker picks the job up next.
            await store.release(workflow_id)
            return Outcome("interrupted")
        error = await run_step(store, call, workflow_id, step, policy)
        if error is not None:
            message = f"step {step.position} ({step.tool}) failed: {error}"
            await store.finish(workflow_id, None, message)
            return Outcome("failed", message)
    await store.finish(workflow_id, {"results": await store.step_results(workflow_id)}, None)
    return Outcome("completed")
