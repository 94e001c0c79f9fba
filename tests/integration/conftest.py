"""The integration suite runs against a real Docker engine and the real dev stack.

The stack is deployed once per session with the operator CLI itself
(`invoke deploy --env dev`), so these tests also prove the deploy path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from noa_ops import catalogue

REPO = Path(__file__).resolve().parents[2]
PROJECT = "noa-dev"



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the engine: mark it so."""
    for item in items:
        if "tests/integration/" in item.nodeid:
            item.add_marker(pytest.mark.integration)


def invoke(*args: str, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run the operator CLI the way an operator does, from the repo root."""
    result = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"invoke {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, payload: Any = None, timeout: float = 10) -> Response:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, reply.read().decode())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode())


def get(url: str, timeout: float = 10) -> Response:
    return http("GET", url, timeout=timeout)


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def base_url(name: str) -> str:
    return f"http://127.0.0.1:{catalogue.get(name).port}"


def http_services() -> list[catalogue.Service]:
    return [s for s in catalogue.stack_services() if s.is_http]


# Not ours: nginx (ui) and llama.cpp's server (one tiered /health, its own bodies).
THIRD_PARTY_SERVERS = ("ui", "llama")


def app_services() -> list[catalogue.Service]:
    """The Python services: they serve the full contract including /metrics."""
    return [s for s in http_services() if s.name not in THIRD_PARTY_SERVERS]


def contract_services() -> list[catalogue.Service]:
    """The services whose health bodies are the contract's JSON (status, service, timestamp)."""
    return [s for s in http_services() if s.name != "llama"]


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


def remove_project(engine: docker.DockerClient) -> None:
    """The dev project's containers and volumes, gone (this checkout may have no env file yet)."""
    project = {"label": f"com.docker.compose.project={PROJECT}"}
    for container in engine.containers.list(all=True, filters=project):
        container.remove(force=True)
    for volume in engine.volumes.list(filters=project):
        volume.remove()


def stack_containers(engine: docker.DockerClient) -> dict[str, Container]:
    found = engine.containers.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
    return {c.labels["com.docker.compose.service"]: c for c in found}


@pytest.fixture
def containers(stack: None, engine: docker.DockerClient) -> dict[str, Container]:
    return stack_containers(engine)


def all_ready() -> bool:
    return all(get(base_url(s.name) + s.health.ready, timeout=5).status == 200  # type: ignore[union-attr]
               for s in http_services())
