"""The integration suite runs against a real Docker engine and a real dev stack of its own.

The stack is deployed once per session with the operator CLI itself (`invoke deploy --env dev`),
so these tests also prove the deploy path, in a compose project, ports and state of this run
(suite.py); it is removed again at the end, whatever the outcome. Any other project on the engine,
an operator's noa-dev above all, is left as it was, and the session fails if it was not
(bystanders.py). The fixtures are here; the helpers the tests share are in helpers.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from .bystanders import Snapshot, Witness, revision_images
from .helpers import MEASURED, invoke, stack_containers
from .suite import SUITE


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the drills and the release cycle measured: seconds, this run, never asserted."""
    if MEASURED:
        terminalreporter.write_sep("-", "measured in this run (seconds)")
        for what, seconds in MEASURED.items():
            terminalreporter.write_line(f"{what:<70} {seconds:6.1f}")


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


@pytest.fixture(scope="session", autouse=True)
def bystanders(engine: docker.DockerClient) -> Iterator[None]:
    """A running dev stack as witness and a snapshot of the engine first; the same afterwards.

    Set up before every other session fixture, so it is checked after they have all cleaned up."""
    witness = Witness.start(engine)
    try:
        built = revision_images()
        before = Snapshot.of(engine, built)
        yield
        changes = before.changes(Snapshot.of(engine, built | revision_images()))
        assert not changes, "the suite changed what was not its own or left its own behind:\n" + \
            "\n".join(changes)
        if witness.operator is not None:
            assert witness.markers() == [witness.marker], "the witness dev stack lost its marker memory"
    finally:
        witness.remove()
        SUITE.remove_home()
        if witness.operator is not None:
            witness.operator.remove_home()


@pytest.fixture(scope="session")
def stack(engine: docker.DockerClient) -> Iterator[subprocess.CompletedProcess[str]]:
    """Deploy the suite's dev stack once, from empty volumes; remove it with its data at the end.
    The value is the deploy's output (test_self_description opens the URLs it printed)."""
    try:
        yield invoke("deploy", "--env", "dev")
    finally:
        invoke("stop", "--env", "dev", "--purge", "--yes", check=False)


@pytest.fixture
def containers(stack: None, engine: docker.DockerClient) -> dict[str, Container]:
    return stack_containers(engine)


