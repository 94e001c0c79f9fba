"""Releases end to end on the real engine: deploy, a broken release rolled back with data intact,
explicit rollback, logs, stop and purge.

It runs in an environment of its own, `cycle`, with an operator of its own (suite.py: a runtime
invoke config, state and env file in a home of this run, a compose project and port offset of its
own), so the purge deletes only volumes this module created, and the suite's stack runs on beside it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import docker
import pytest
from invoke.config import Config
from invoke.context import Context

from noa_ops import images

from .helpers import MEASURED, PROJECT, call_tool, search_memories, stack_containers
from .suite import CHECKOUT, RUN, SUITE_OFFSET, Operator, free_offset, run_operator

CYCLE = f"noa-it-{CHECKOUT}-{RUN}-cycle"
BROKEN = f"noa-test/mcp:broken-{RUN}"  # exits at once
SILENT = f"noa-test/mcp:silent-{RUN}"  # runs, never answers


@pytest.fixture(scope="module")
def cycle(stack: None, engine: docker.DockerClient) -> Iterator[Operator]:
    """The cycle environment's operator; everything it made is gone afterwards."""
    operator = run_operator("cycle", {"cycle": {
        "target": "compose", "project": CYCLE, "image_prefix": "noa", "deploy_timeout": 600,
        "health_timeout": 60, "port_offset": free_offset(taken=[SUITE_OFFSET])}})
    try:
        yield operator
    finally:
        subprocess.run(["docker", "image", "rm", "-f", BROKEN, SILENT], capture_output=True, check=False)
        operator.invoke("stop", "--env", "cycle", "--purge", "--yes", check=False)
        operator.remove_home()


def mcp_url(cycle: Operator) -> str:
    return f"http://127.0.0.1:{cycle.port('mcp', 'cycle')}/mcp"


def quinces(cycle: Operator, namespace: str) -> list[str]:
    found = search_memories("quince", namespace, cycle.env_file("cycle"), mcp_url(cycle))
    return [memory["content"] for memory in found]


def history_lines(cycle: Operator) -> list[str]:
    return (cycle.home / "state" / "releases" / "cycle" / "history.jsonl").read_text().splitlines()


def status_of(cycle: Operator) -> dict[str, object]:
    rows = json.loads(cycle.invoke("status", "--env", "cycle", "--json").stdout)
    assert len(rows) == 1
    row: dict[str, object] = rows[0]
    return row


def build_broken_mcp(name: str, command: str) -> None:
    """The real mcp image with another CMD: one whose process exits, or one that never answers."""
    tag = images.current_tag(Context(Config(overrides={"run": {"in_stream": False}})))
    dockerfile = f"FROM noa/mcp:{tag}\nCMD {command}\n"
    subprocess.run(["docker", "build", "-q", "-t", name, "-"], input=dockerfile, text=True, check=True,
                   capture_output=True, env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"})


def dangling_volumes(engine: docker.DockerClient) -> set[str]:
    """Volumes no container uses: what a recreated container's anonymous volume would become."""
    return {volume.name for volume in engine.volumes.list(filters={"dangling": True})}


def second_deploy_refused_while_the_first_runs(cycle: Operator) -> None:
    """Two deploys of one environment at once: the second is refused at once, naming the first,
    which completes as if alone."""
    lock = cycle.home / "state" / "locks" / "cycle.lock"
    first = cycle.start("deploy", "--env", "cycle", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.exists(), "the first deploy never took the lock"
        refused = cycle.invoke("deploy", "--env", "cycle", check=False)
        assert refused.returncode == 1, refused.stderr[-2000:]
        said = " ".join(refused.stderr.split())
        assert "deploy: cycle is locked by deploy by" in said and f"(pid {first.pid})" in said, said
        assert "Traceback" not in refused.stderr
    finally:
        _, errors = first.communicate(timeout=900)
    assert first.returncode == 0, errors[-3000:]
    assert not lock.exists(), "the lock outlived its deploy"


def test_release_cycle(cycle: Operator, engine: docker.DockerClient) -> None:
    unused_before = dangling_volumes(engine)
    cycle.invoke("deploy", "--env", "cycle")
    first = status_of(cycle)
    assert first["state"] == "running" and first["healthy_now"] is True and first["action"] == "deploy"
    good = str(first["release"])
    stored = cycle.home / "state" / "releases" / "cycle" / good / "compose.yaml"
    assert "image: sha256:" in stored.read_text()

    namespace = f"cycle-{uuid.uuid4().hex[:8]}"
    content = f"remember the quince {uuid.uuid4().hex[:6]}"
    memory = {"content": content, "namespace": namespace}
    asyncio.run(call_tool("memory_store", memory, cycle.env_file("cycle"), mcp_url(cycle)))

    # A release whose mcp exits at once: the deploy sees the crash loop, does not wait out its 600 s
    # deadline, names mcp and brings the last good release back.
    build_broken_mcp(BROKEN, '["python", "-c", "raise SystemExit(1)"]')
    started = time.monotonic()
    failed = cycle.invoke("deploy", "--env", "cycle", "--service-image", f"mcp={BROKEN}", check=False)
    MEASURED["crash-looping mcp release: named, rolled back (600 s deadline)"] = time.monotonic() - started
    assert failed.returncode == 1, failed.stderr[-2000:]
    said = " ".join(failed.stderr.split())
    assert "not waiting for the deadline: mcp crash-loops: restarted" in said, said[-3000:]
    assert "last exit code" not in said or "last exit code 1" in said  # shown only between restarts
    assert f"rolled back to {good}, which is healthy" in failed.stderr
    assert "Traceback" not in failed.stderr
    after = status_of(cycle)
    assert (after["release"], after["action"], after["healthy_now"]) == (good, "auto-rollback", True)
    assert "mcp: mcp crash-loops: restarted" in "".join(history_lines(cycle)), "the release log lacks why"
    assert quinces(cycle, namespace) == [content]

    # A release whose mcp runs and never answers: nothing certain to see, so the deadline ends it.
    build_broken_mcp(SILENT, '["sleep", "infinity"]')
    started = time.monotonic()
    silent = cycle.invoke("deploy", "--env", "cycle", "--service-image", f"mcp={SILENT}", "--timeout", "60",
                          check=False)
    MEASURED["silent mcp release: deadline 60 s, then rolled back"] = time.monotonic() - started
    said = " ".join(silent.stderr.split())
    assert silent.returncode == 1 and "not waiting for the deadline" not in said, said[-3000:]
    assert f"rolled back to {good}, which is healthy" in said and "Traceback" not in said
    last = json.loads(history_lines(cycle)[-2])
    assert (last["action"], last["healthy"]) == ("deploy", False) and "mcp" in last["detail"], last
    assert quinces(cycle, namespace) == [content]

    # A second good release, during which another deploy of the environment is refused.
    second_deploy_refused_while_the_first_runs(cycle)
    second = status_of(cycle)
    assert second["release"] != good and second["healthy_now"] is True
    cycle.invoke("rollback", "--env", "cycle")
    back = status_of(cycle)
    assert (back["release"], back["action"], back["healthy_now"]) == (good, "rollback", True)
    assert quinces(cycle, namespace) == [content]
    assert dangling_volumes(engine) == unused_before, "a replaced container left a volume behind"


def test_logs_merge_and_filter(cycle: Operator) -> None:
    wanted = ["mcp", "agenticos"]
    result = cycle.invoke("logs", "--env", "cycle", "--service", "mcp", "--service", "agenticos",
                    "--level", "info", "--grep", "(?i)health|start|listen|ready", "--json")
    lines = json.loads(result.stdout)
    assert lines, "no log lines matched"
    assert {line["service"] for line in lines} <= set(wanted)
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    # The services' own level names (noa_common/json_logging.py).
    assert all(line["level"] in ("info", "warn", "error", "critical") for line in lines)
    text = cycle.invoke("logs", "--env", "cycle", "--service", "mcp", "--tail", "5").stdout
    assert all(line.startswith("mcp | ") for line in text.splitlines())
    bad = cycle.invoke("logs", "--env", "cycle", "--service", "nginx", check=False)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("unknown service nginx; valid: ")


def test_stop_keeps_data_and_purge_needs_yes(cycle: Operator, engine: docker.DockerClient) -> None:
    def volumes() -> list[str]:
        label = f"com.docker.compose.project={CYCLE}"
        return sorted(volume.name for volume in engine.volumes.list(filters={"label": label}))

    cycle.invoke("stop", "--env", "cycle")
    assert not engine.containers.list(filters={"label": f"com.docker.compose.project={CYCLE}"})
    kept = volumes()
    assert f"{CYCLE}_postgres-data" in kept

    refused = cycle.invoke("stop", "--env", "cycle", "--purge", check=False)
    assert refused.returncode == 1 and "--purge --yes" in refused.stderr
    assert f"{CYCLE}_postgres-data" in refused.stderr
    assert volumes() == kept

    cycle.invoke("stop", "--env", "cycle", "--purge", "--yes")
    assert volumes() == []
    assert status_of(cycle)["state"] == "stopped"
    # Only this module's project was touched: the suite's stack still runs beside it.
    assert set(stack_containers(engine)) >= {"postgres", "mcp"}, f"{PROJECT} lost containers"
