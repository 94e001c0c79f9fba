"""Releases end to end on the real engine: deploy, a broken release rolled back with data intact,
explicit rollback, logs, stop and purge.

It runs in its own environment, `cycle` (compose project noa-cycle), added by a runtime invoke
config (`invoke -f`), so the purge deletes only volumes this module created. Ports are fixed, so
the dev stack is stopped first (volumes kept) and deployed again afterwards.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from invoke.config import Config
from invoke.context import Context

from noa_ops import catalogue, images

from .helpers import PROJECT, REPO, call_tool, invoke, search_memories, stack_containers

CYCLE = "noa-cycle"
CYCLE_ENV = REPO / ".noa" / "cycle.env"  # its operator's key too
BROKEN = "noa-test/mcp:broken"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cycle") / "invoke-cycle.yaml"
    path.write_text(
        "noa:\n  environments:\n    cycle:\n      target: compose\n      project: noa-cycle\n"
        "      env_file: .noa/cycle.env\n      image_prefix: noa\n      deploy_timeout: 600\n"
        "      health_timeout: 60\n"
    )
    return path


@pytest.fixture(scope="module")
def cycle(config: Path, engine: docker.DockerClient) -> Iterator[list[str]]:
    """The `invoke -f <config>` prefix; the dev stack is stopped for the module and restored after."""
    dev_was_running = bool(stack_containers(engine))
    if dev_was_running:
        invoke("stop", "--env", "dev")
    forget_cycle()
    try:
        yield ["-f", str(config)]
    finally:
        subprocess.run(["docker", "image", "rm", "-f", BROKEN], capture_output=True, check=False)
        invoke("-f", str(config), "stop", "--env", "cycle", "--purge", "--yes", check=False)
        forget_cycle()
        if dev_was_running:
            invoke("deploy", "--env", "dev")


def forget_cycle() -> None:
    """The cycle environment's local state (releases, secrets, lock): this module's alone."""
    shutil.rmtree(REPO / ".noa" / "releases" / "cycle", ignore_errors=True)
    (REPO / ".noa" / "cycle.env").unlink(missing_ok=True)
    (REPO / ".noa" / "locks" / "cycle.lock").unlink(missing_ok=True)


def status_of(cycle: list[str]) -> dict[str, object]:
    rows = json.loads(invoke(*cycle, "status", "--env", "cycle", "--json").stdout)
    assert len(rows) == 1
    row: dict[str, object] = rows[0]
    return row


def build_broken_mcp() -> None:
    """The real mcp image whose process exits at once: its health never passes."""
    tag = images.current_tag(Context(Config(overrides={"run": {"in_stream": False}})))
    dockerfile = f'FROM noa/mcp:{tag}\nCMD ["python", "-c", "raise SystemExit(1)"]\n'
    subprocess.run(["docker", "build", "-q", "-t", BROKEN, "-"], input=dockerfile, text=True, check=True,
                   capture_output=True, env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"})


def test_release_cycle(cycle: list[str], engine: docker.DockerClient) -> None:
    invoke(*cycle, "deploy", "--env", "cycle")
    first = status_of(cycle)
    assert first["state"] == "running" and first["healthy_now"] is True and first["action"] == "deploy"
    good = str(first["release"])
    stored = REPO / ".noa" / "releases" / "cycle" / good / "compose.yaml"
    assert "image: sha256:" in stored.read_text()

    namespace = f"cycle-{uuid.uuid4().hex[:8]}"
    content = f"remember the quince {uuid.uuid4().hex[:6]}"
    asyncio.run(call_tool("memory_store", {"content": content, "namespace": namespace}, CYCLE_ENV))

    # A release whose mcp never becomes healthy: it fails and the last good one comes back.
    build_broken_mcp()
    failed = invoke(*cycle, "deploy", "--env", "cycle", "--service-image", f"mcp={BROKEN}", "--timeout", "60",
                    check=False)
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert f"rolled back to {good}, which is healthy" in failed.stderr
    assert "Traceback" not in failed.stderr
    after = status_of(cycle)
    assert (after["release"], after["action"], after["healthy_now"]) == (good, "auto-rollback", True)
    assert [m["content"] for m in search_memories("quince", namespace, CYCLE_ENV)] == [content]

    # A second good release, then an explicit rollback to the first.
    invoke(*cycle, "deploy", "--env", "cycle")
    second = status_of(cycle)
    assert second["release"] != good and second["healthy_now"] is True
    invoke(*cycle, "rollback", "--env", "cycle")
    back = status_of(cycle)
    assert (back["release"], back["action"], back["healthy_now"]) == (good, "rollback", True)
    assert [m["content"] for m in search_memories("quince", namespace, CYCLE_ENV)] == [content]


def test_logs_merge_and_filter(cycle: list[str]) -> None:
    wanted = ["mcp", "agenticos"]
    result = invoke(*cycle, "logs", "--env", "cycle", "--service", "mcp", "--service", "agenticos",
                    "--level", "info", "--grep", "(?i)health|start|listen|ready", "--json")
    lines = json.loads(result.stdout)
    assert lines, "no log lines matched"
    assert {line["service"] for line in lines} <= set(wanted)
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    # The services' own level names (noa_common/json_logging.py).
    assert all(line["level"] in ("info", "warn", "error", "critical") for line in lines)
    text = invoke(*cycle, "logs", "--env", "cycle", "--service", "mcp", "--tail", "5").stdout
    assert all(line.startswith("mcp | ") for line in text.splitlines())
    bad = invoke(*cycle, "logs", "--env", "cycle", "--service", "nginx", check=False)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("unknown service nginx; valid: ")


def test_stop_keeps_data_and_purge_needs_yes(cycle: list[str], engine: docker.DockerClient) -> None:
    def volumes() -> list[str]:
        label = f"com.docker.compose.project={CYCLE}"
        return sorted(volume.name for volume in engine.volumes.list(filters={"label": label}))

    invoke(*cycle, "stop", "--env", "cycle")
    assert not engine.containers.list(filters={"label": f"com.docker.compose.project={CYCLE}"})
    kept = volumes()
    assert f"{CYCLE}_postgres-data" in kept

    refused = invoke(*cycle, "stop", "--env", "cycle", "--purge", check=False)
    assert refused.returncode == 1 and "--purge --yes" in refused.stderr
    assert f"{CYCLE}_postgres-data" in refused.stderr
    assert volumes() == kept

    invoke(*cycle, "stop", "--env", "cycle", "--purge", "--yes")
    assert volumes() == []
    assert status_of(cycle)["state"] == "stopped"
    # Only this module's project was touched.
    assert all(service.name for service in catalogue.stack_services())
    assert PROJECT != CYCLE
