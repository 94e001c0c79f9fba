"""Helpers for the integration suite (fixtures are in conftest.py): the operator CLI as an
operator runs it, HTTP against the published ports, the suite's project's containers, and the MCP
memory tools."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx2
from docker.models.containers import Container
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from noa_ops import catalogue, envfile

from .suite import SUITE

# What this run measured (what -> seconds), printed after the tests (conftest.py): never asserted.
MEASURED: dict[str, float] = {}
PROJECT = SUITE.project()  # the suite's own compose project (suite.py), never the operator's noa-dev


def invoke(*args: str, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run the operator CLI the way an operator does, from the repo root, as the suite's operator."""
    return SUITE.invoke(*args, check=check, timeout=timeout)


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


ENV_FILE = SUITE.env_file()
OPERATOR = "OPERATOR_API_KEY"  # whose key a request carries: the env file variable that holds it


def key_of(variable: str, env_file: Path = ENV_FILE) -> str:
    """An API key of an env file (by default the dev one, which `invoke deploy` wrote)."""
    return envfile.read_values(env_file)[variable]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def http(method: str, url: str, payload: Any = None, timeout: float = 10, *, auth: str | None = OPERATOR,
         token: str | None = None) -> Response:
    """One request; it carries the key of env variable `auth` (None: anonymous), or `token` if given."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    credential = token if token is not None else (key_of(auth) if auth else None)
    if credential is not None:
        request.add_header("Authorization", f"Bearer {credential}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, reply.read().decode())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode())


def get(url: str, timeout: float = 10, auth: str | None = OPERATOR) -> Response:
    return http("GET", url, timeout=timeout, auth=auth)


def holds(condition: Callable[[], bool]) -> bool:
    """condition(); a connection refused or reset (a service still starting behind its published
    port) counts as no."""
    try:
        return condition()
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    """Until `condition()` holds (a refused or reset connection meanwhile counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holds(condition):
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def readiness(name: str) -> int:
    """The HTTP status of a service's readiness tier."""
    return get(f"{base_url(name)}/health/ready", timeout=10).status


def base_url(name: str) -> str:
    return f"http://127.0.0.1:{SUITE.port(name)}"


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


def remove_project(engine: docker.DockerClient) -> None:
    """The suite's project's containers and volumes, gone."""
    project = {"label": f"com.docker.compose.project={PROJECT}"}
    for container in engine.containers.list(all=True, filters=project):
        container.remove(force=True)
    for volume in engine.volumes.list(filters=project):
        volume.remove()


POSTGRES = {"label": [f"com.docker.compose.project={PROJECT}", "com.docker.compose.service=postgres"]}


def postgres_prefix() -> list[str]:
    """`docker exec` into the stack's postgres container (found by its labels, not by the code under test)."""
    [container] = docker.from_env().containers.list(filters=POSTGRES)
    return ["docker", "exec", "-i", container.name]


def stack_containers(engine: docker.DockerClient) -> dict[str, Container]:
    found = engine.containers.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
    return {c.labels["com.docker.compose.service"]: c for c in found}


def all_ready() -> bool:
    return all(get(base_url(s.name) + s.health.ready, timeout=5).status == 200  # type: ignore[union-attr]
               for s in http_services())


MCP_URL = f"{base_url('mcp')}/mcp"


def tool_payload(result: Any) -> Any:
    """The JSON a tool returned: structured content when given, else its text."""
    assert not result.is_error, result
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if isinstance(content, dict) else content
    return json.loads(result.content[0].text)


@contextlib.asynccontextmanager
async def mcp_client(auth: str | None = OPERATOR, token: str | None = None,
                     url: str = MCP_URL) -> AsyncIterator[Client]:
    """The official MCP client on the published port, with the key of env variable `auth` (or `token`)."""
    credential = token if token is not None else (key_of(auth) if auth else None)
    headers = bearer(credential) if credential is not None else {}
    async with (httpx2.AsyncClient(headers=headers, trust_env=False, timeout=30) as session,
                Client(streamable_http_client(url, http_client=session)) as client):
        yield client


async def call_tool(name: str, arguments: dict[str, Any], env_file: Path = ENV_FILE,
                    url: str = MCP_URL) -> Any:
    """One tool call, at `url`, as the operator of the environment whose env file is `env_file`."""
    async with mcp_client(token=key_of(OPERATOR, env_file), url=url) as client:
        return tool_payload(await client.call_tool(name, arguments))


def search_memories(query: str, namespace: str, env_file: Path = ENV_FILE,
                    url: str = MCP_URL) -> list[dict[str, Any]]:
    found = asyncio.run(call_tool("memory_search", {"query": query, "namespace": namespace}, env_file, url))
    return list(found)
