"""The integration suite runs against a real Docker engine and the real dev stack.

The stack is deployed once per session with the operator CLI itself
(`invoke deploy --env dev`), so these tests also prove the deploy path. The fixtures are here;
the helpers the tests share are in helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
from docker.models.containers import Container

from .helpers import invoke, remove_project, stack_containers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the engine: mark it so."""
    for item in items:
        if "tests/integration/" in item.nodeid:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    client = docker.from_env()
    client.ping()
    return client


@pytest.fixture(scope="session")
def stack(engine: docker.DockerClient) -> Iterator[None]:
    """Deploy the dev stack once, from empty volumes; leave it running for inspection afterwards.

    The suite owns the dev environment: volumes left by an earlier checkout were initialised with
    that checkout's secrets (Postgres keeps its first password), so they are purged first.
    """
    remove_project(engine)
    invoke("deploy", "--env", "dev")
    yield


@pytest.fixture
def containers(stack: None, engine: docker.DockerClient) -> dict[str, Container]:
    return stack_containers(engine)


