"""Drills on the suite's own stack: the main process of each container killed with SIGKILL (from the
host, by its PID, like a crash; needs root, as the suite does), Redis
stopped, mcp stopped. Each time the stack heals by itself (the engine restarts what died, the
services reconnect), the dependents' readiness says 503 while a dependency is gone, and nothing
written before is lost: a memory row, and a Redis key in the AOF.

A kill of Redis, llama or the ui heals in about a second, faster than readiness can be seen to
drop, so only the kills of Postgres and mcp assert the drop; the stopped Redis and mcp assert it
for every dependent. How long each recovery took is printed, never asserted (`nox -s bench`)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator

import docker
import pytest
from docker.models.containers import Container

from noa_ops import catalogue

from .helpers import (
    MEASURED,
    all_ready,
    app_services,
    base_url,
    call_tool,
    get,
    holds,
    key_of,
    readiness,
    search_memories,
    wait_for,
)

KILLED = [service.name for service in catalogue.stack_services()]
DROP_SEEN_ON_KILL = ("postgres", "mcp")  # restarts that take longer than a readiness poll
POLL = 0.2
RECOVERY = 180.0


def dependents_of(name: str) -> list[str]:
    return [service.name for service in app_services() if name in service.depends_on]


def watch(names: list[str], until: Callable[[], bool], timeout: float) -> dict[str, set[int]]:
    """Each service's readiness statuses, polled until `until()` holds."""
    seen: dict[str, set[int]] = {name: set() for name in names}
    deadline = time.monotonic() + timeout
    while not holds(until):
        if time.monotonic() > deadline:
            raise AssertionError(f"not recovered after {timeout:.0f} s; readiness seen: {seen}")
        for name in names:
            seen[name].add(readiness(name))
        time.sleep(POLL)
    return seen


def state(engine: docker.DockerClient, container: Container) -> tuple[int, str, str]:
    """(restart count, status, health) as the engine has them now."""
    attrs = engine.api.inspect_container(container.id)
    health = (attrs["State"].get("Health") or {}).get("Status", "none")
    return int(attrs["RestartCount"]), attrs["State"]["Status"], health


def redis_cli(container: Container, *words: str) -> str:
    """redis-cli in the Redis container as the admin user; the password through the environment."""
    result = container.exec_run(["redis-cli", "--no-auth-warning", *words],
                                environment={"REDISCLI_AUTH": key_of("REDIS_PASSWORD")})
    assert result.exit_code == 0, result.output
    return str(result.output.decode().strip())


@pytest.fixture
def written(containers: dict[str, Container]) -> Iterator[tuple[str, str, str]]:
    """A memory row and a Redis key written before the drill: (namespace, content, key)."""
    namespace, content = f"drill-{uuid.uuid4().hex[:8]}", f"the drill's quince {uuid.uuid4().hex[:6]}"
    asyncio.run(call_tool("memory_store", {"content": content, "namespace": namespace}))
    key = f"noa:drill:{uuid.uuid4().hex[:8]}"
    assert redis_cli(containers["redis"], "SET", key, content) == "OK"
    time.sleep(1.5)  # appendfsync everysec: the key is on disk a second later
    yield namespace, content, key
    redis_cli(containers["redis"], "DEL", key)


def nothing_lost(containers: dict[str, Container], written: tuple[str, str, str]) -> None:
    namespace, content, key = written
    assert [hit["content"] for hit in search_memories("quince", namespace)] == [content]
    assert redis_cli(containers["redis"], "GET", key) == content


@pytest.mark.parametrize("name", KILLED)
def test_a_killed_main_process_comes_back_by_itself_with_nothing_lost(
        name: str, containers: dict[str, Container], engine: docker.DockerClient,
        written: tuple[str, str, str]) -> None:
    container = containers[name]
    restarts, _, _ = state(engine, container)
    started = time.monotonic()
    # From the host, as a crash would: `docker kill` counts as a stop, after which no restart
    # policy applies.
    os.kill(engine.api.inspect_container(container.id)["State"]["Pid"], signal.SIGKILL)

    def healed() -> bool:
        count, status, health = state(engine, container)
        return count > restarts and status == "running" and health in ("healthy", "none") and all_ready()

    try:
        seen = watch(dependents_of(name), healed, RECOVERY)
    finally:  # a drill that failed must not leave the stack broken for the tests after it
        if state(engine, container)[1] != "running":
            container.start()
    MEASURED[f"kill -9 {name}: every service ready again"] = time.monotonic() - started
    assert state(engine, container)[0] == restarts + 1, "the engine restarted it once"
    if name in DROP_SEEN_ON_KILL:
        for dependent in dependents_of(name):
            assert 503 in seen[dependent], f"{dependent} stayed ready while {name} was gone: {seen}"
    nothing_lost(containers, written)


@pytest.mark.parametrize("name", ["redis", "mcp"])
def test_a_stopped_dependency_turns_its_dependents_not_ready_until_it_returns(
        name: str, containers: dict[str, Container], engine: docker.DockerClient,
        written: tuple[str, str, str]) -> None:
    dependents = dependents_of(name)
    assert dependents, f"the catalogue names no dependents of {name}"
    container = containers[name]
    container.stop(timeout=20)
    stopped = time.monotonic()
    try:
        wait_for(lambda: all(readiness(d) == 503 for d in dependents), 30, f"{dependents} to say 503")
        for dependent in dependents:
            assert get(f"{base_url(dependent)}/health").status == 200, f"{dependent} is not alive"
            failed = get(f"{base_url(dependent)}/health/ready").json()["checks"][name]
            assert failed["ok"] is False, failed
    finally:
        container.start()
    started = time.monotonic()
    wait_for(lambda: state(engine, container)[2] == "healthy" and all_ready(), RECOVERY,
             f"{name} healthy and every service ready after it returned")
    seconds = time.monotonic() - started
    MEASURED[f"{name} stopped {started - stopped:.0f} s, started: every service ready again"] = seconds
    nothing_lost(containers, written)

