"""The Redis queue of workflow jobs (noa:flow:queue): one JSON job per workflow."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from noa_common.redis_keys import FLOW_QUEUE
from noa_common.redis_store import BLOCKING_POP_SECONDS


def encode_job(workflow_id: str) -> str:
    return json.dumps({"workflow_id": workflow_id})


def decode_job(raw: str) -> str | None:
    """The workflow id of a job, or None for a malformed one (logged and dropped by the worker)."""
    try:
        job = json.loads(raw)
    except ValueError:
        return None
    workflow_id = job.get("workflow_id") if isinstance(job, dict) else None
    return workflow_id if isinstance(workflow_id, str) else None


async def enqueue(client: Redis, workflow_id: str) -> None:
    await client.rpush(FLOW_QUEUE, encode_job(workflow_id))


async def requeue_first(client: Redis, workflow_id: str) -> None:
    """Back to the head of the queue: an interrupted workflow resumes before newer ones."""
    await client.lpush(FLOW_QUEUE, encode_job(workflow_id))


async def dequeue(client: Redis) -> str | None:
    """Wait briefly for a job; None on timeout so the caller can notice a shutdown."""
    popped = await client.blpop([FLOW_QUEUE], timeout=BLOCKING_POP_SECONDS)
    if popped is None:
        return None
    _key, raw = popped
    return str(raw)


async def depth(client: Redis) -> int:
    return int(await client.llen(FLOW_QUEUE))
