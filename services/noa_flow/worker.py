"""The workers of one claude-flow process: BLPOP a job, run the workflow, repeat until shutdown.

A job is never dropped for an infrastructure failure: if Postgres or Redis fails while a workflow
runs, or the process is stopped, the job goes back to the head of the queue and the workflow's
finished steps stay finished (at-least-once for the step that was running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from noa_common.health import describe_error
from noa_common.service_app import ServiceRuntime
from noa_flow import job_queue
from noa_flow.executor import ExecutionPolicy, ToolCall, run_workflow
from noa_flow.store import WorkflowStore

logger = logging.getLogger("noa.flow.worker")

IDLE_RETRY_SECONDS = 2.0
RELEASE_TIMEOUT_SECONDS = 1.5


class FlowWorkers:
    def __init__(self, runtime: ServiceRuntime, store: WorkflowStore, call: ToolCall) -> None:
        self.runtime = runtime
        self.store = store
        self.call = call
        settings = runtime.settings
        self.policy = ExecutionPolicy(retry_attempts=settings.integer("CLAUDE_FLOW_RETRY_ATTEMPTS"),
                                      retry_delay=settings.number("CLAUDE_FLOW_RETRY_DELAY"))
        self.concurrency = settings.integer("WORKER_CONCURRENCY")
        self.outcomes = runtime.metrics.counter(
            "claude_flow_workflows_total", "Workflow runs by outcome.", ("outcome",))

    async def start(self) -> None:
        for index in range(self.concurrency):
            self.runtime.spawn(self.run(index), name=f"flow-worker-{index}")
        logger.info("workers started", extra={"workers": self.concurrency})

    async def run(self, index: int) -> None:
        last_error = ""
        while not self.runtime.stopping.is_set():
            try:
                raw = await job_queue.dequeue(self.runtime.redis)
            except Exception as error:  # Redis down: wait and try again, log once per distinct error
                reason = describe_error(error)
                if reason != last_error:
                    logger.warning("queue unavailable", extra={"worker": index, "error": reason})
                    last_error = reason
                await self._pause(IDLE_RETRY_SECONDS)
                continue
            last_error = ""
            if raw is None:
                continue
            workflow_id = job_queue.decode_job(raw)
            if workflow_id is None:
                logger.error("dropped a malformed job", extra={"worker": index, "job": raw[:200]})
                continue
            await self.handle(workflow_id)

    async def handle(self, workflow_id: str) -> None:
        try:
            stopping = self.runtime.stopping
            outcome = await run_workflow(self.store, self.call, workflow_id, self.policy, stopping)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(workflow_id))
            raise
        except Exception as error:  # Postgres/Redis failed mid-run: keep the job, retry later
            logger.warning("workflow interrupted by an error; requeued",
                           extra={"workflow_id": workflow_id, "error": describe_error(error)})
            await self._pause(IDLE_RETRY_SECONDS)
            await self._release(workflow_id)
            self.outcomes.labels(outcome="requeued").inc()
            return
        if outcome.status == "interrupted":
            await self._release(workflow_id)
        self.outcomes.labels(outcome=outcome.status).inc()
        logger.info("workflow %s", outcome.status, extra={"workflow_id": workflow_id, "error": outcome.error})

    async def _release(self, workflow_id: str) -> None:
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS):
                with contextlib.suppress(Exception):
                    await self.store.release(workflow_id)
                await job_queue.requeue_first(self.runtime.redis, workflow_id)
        except Exception as error:  # nothing left to try: say which workflow needs a manual requeue
            logger.error("could not requeue workflow", extra={"workflow_id": workflow_id,
                                                              "error": describe_error(error)})

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.runtime.stopping.wait(), seconds)
