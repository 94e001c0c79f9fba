"""What the suite must leave as it found it: the engine's other projects, and a dev stack's data.

Before the suite deploys anything it takes a `Snapshot` of the engine: every container of a compose
project that is not this run's (with its start time and restart count), every volume, every
network and every image tag. After the suite has cleaned up, the snapshot must be the same: that
proves both that nothing of anyone else's was stopped, removed or restarted, and that the suite
left nothing of its own behind (containers, volumes, networks, tags), even when tests failed.
The images of this checkout's revision (<image_prefix>/<service>:<tag>) are the build's, not the
suite's: `nox -s integration` builds them before the suite starts, and keeps them as a cache.

The witness is a running dev stack. Where an operator's `noa-dev` project exists, it is theirs:
the suite only watches it (no marker is written into their data). Where none exists (a fresh
machine, CI), the suite first deploys one the way an operator would, with the repo's own
invoke.yaml (project noa-dev, the usual ports) and its env file and state in a home of this run,
stores a marker memory through MCP, finds it again at the end, and then removes that stack.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import docker
from invoke.config import Config
from invoke.context import Context

from noa_ops import catalogue, images

from .helpers import call_tool, search_memories
from .suite import CHECKOUT, RUN, Operator, run_operator

OPERATORS_PROJECT = "noa-dev"  # the project of invoke.yaml's dev environment
PROJECT_LABEL = "com.docker.compose.project"


def ours(project: str) -> bool:
    """A compose project this run made (suite.py names them noa-it-<checkout>-<run>[-<module>])."""
    return project.startswith(f"noa-it-{CHECKOUT}-{RUN}")


@dataclass(frozen=True)
class Snapshot:
    containers: dict[str, tuple[str, str, str, int]]  # id -> name, status, started at, restarts
    volumes: frozenset[str]
    networks: frozenset[str]
    tags: frozenset[str]

    @classmethod
    def of(cls, engine: docker.DockerClient, built: frozenset[str] = frozenset()) -> Snapshot:
        """The engine now; `built` are the revision's image tags, left out."""
        containers = {}
        for container in engine.containers.list(all=True):
            project = container.labels.get(PROJECT_LABEL)
            if project and not ours(project):
                state = container.attrs["State"]
                containers[container.id] = (container.name, state["Status"], state["StartedAt"],
                                            int(container.attrs.get("RestartCount", 0)))
        return cls(containers, frozenset(v.name for v in engine.volumes.list()),
                   frozenset(n.name for n in engine.networks.list()),
                   frozenset(tag for image in engine.images.list() for tag in image.tags) - built)

    def changes(self, later: Snapshot) -> list[str]:
        """One line per difference between this snapshot and a later one; [] when none."""
        lines = []
        for kind in ("containers", "volumes", "networks", "tags"):
            before, after = getattr(self, kind), getattr(later, kind)
            lines += [f"{kind}: gone or changed: {describe(before, key)}" for key in before
                      if key not in after or (isinstance(before, dict) and before[key] != after[key])]
            lines += [f"{kind}: new: {describe(after, key)}" for key in after if key not in before]
        return lines


def revision_images() -> frozenset[str]:
    """The tags `invoke build` and a deploy of the monitoring profile give this checkout's revision:
    noa/<service>:<tag>."""
    tag = images.current_tag(Context(Config(overrides={"run": {"in_stream": False}})))
    return frozenset(f"noa/{service.name}:{tag}" for service in catalogue.compose_services())


def describe(items: Any, key: str) -> str:
    return f"{key[:12]} {items[key]}" if isinstance(items, dict) else key


MARKER_NAMESPACE = f"witness-{RUN}"


@dataclass(frozen=True)
class Witness:
    """The dev stack that must survive the suite; `operator` is set when the suite deployed it."""

    operator: Operator | None
    marker: str = ""

    @classmethod
    def start(cls, engine: docker.DockerClient) -> Witness:
        present = engine.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={OPERATORS_PROJECT}"})
        if present or engine.volumes.list(filters={"label": f"{PROJECT_LABEL}={OPERATORS_PROJECT}"}):
            return cls(None)
        operator = run_operator("witness", {"dev": {}})  # invoke.yaml's dev: noa-dev, the usual ports
        operator.invoke("deploy", "--env", "dev")
        marker = f"the suite must not lose this {uuid.uuid4().hex}"
        asyncio.run(call_tool("memory_store", {"content": marker, "namespace": MARKER_NAMESPACE},
                              operator.env_file(), url=mcp_url(operator)))
        return cls(operator, marker)

    def markers(self) -> list[str]:
        """The marker memories the witness stack holds now."""
        assert self.operator is not None
        operator = self.operator
        found = search_memories("lose", MARKER_NAMESPACE, operator.env_file(), url=mcp_url(operator))
        return [memory["content"] for memory in found]

    def remove(self) -> None:
        if self.operator is not None:
            self.operator.invoke("stop", "--env", "dev", "--purge", "--yes", check=False)


def mcp_url(operator: Operator) -> str:
    return f"http://127.0.0.1:{operator.port('mcp')}/mcp"
