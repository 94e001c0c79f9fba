"""Data survives `invoke stop` and a new deploy (named volumes are kept).

This module redeploys the stack, so it runs last (pytest runs files in name order).
"""

from __future__ import annotations

import asyncio
import uuid

import docker

from .helpers import PROJECT, call_tool, invoke, search_memories, stack_containers


def test_memory_survives_stop_and_redeploy(stack: None, engine: docker.DockerClient) -> None:
    namespace = f"persist-{uuid.uuid4().hex[:8]}"
    content = f"remember the tangerine {uuid.uuid4().hex[:6]}"
    asyncio.run(call_tool("memory_store", {"content": content, "namespace": namespace}))

    invoke("stop", "--env", "dev")
    assert stack_containers(engine) == {}, f"containers of {PROJECT} still running after stop"
    volumes = engine.volumes.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
    assert volumes, "stop removed the named volumes"

    invoke("deploy", "--env", "dev")
    assert [m["content"] for m in search_memories("tangerine", namespace)] == [content]
