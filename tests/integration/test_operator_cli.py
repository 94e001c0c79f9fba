"""The operator CLI against the running stack."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from noa_ops import catalogue

from .helpers import PROJECT, base_url, get, invoke, wait_for
from .suite import SUITE


def test_health_exits_zero_and_reports_every_service(stack: None) -> None:
    report = json.loads(invoke("health", "--env", "dev", "--json").stdout)
    text = json.dumps(report)
    for service in catalogue.stack_services():
        assert service.name in text, f"{service.name} missing from invoke health --json"


def test_unknown_environment_is_refused(stack: None) -> None:
    result = invoke("deploy", "--env", "nope", check=False)
    assert result.returncode != 0
    assert "dev" in (result.stdout + result.stderr)
    assert "Traceback" not in result.stderr


def followers() -> list[str]:
    """The `docker compose -p <suite project> logs --follow` processes on this machine."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = cmdline.read_bytes().split(b"\0")
            if PROJECT.encode() in words and b"--follow" in words:
                found.append(cmdline.parent.name)
    return found


def follow() -> subprocess.Popen[str]:
    """`invoke logs --follow` as an operator starts it in a terminal (its own process group)."""
    process = SUITE.start("logs", "--env", "dev", "--follow", "--tail", "3", stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None and process.stdout.readline(), "logs --follow printed nothing"
    return process


def test_logs_follow_ends_quietly_when_its_reader_goes(stack: None) -> None:
    """`invoke logs --follow | head -1`: exit 141, nothing on stderr, docker compose gone too."""
    process = follow()
    assert process.stdout is not None
    process.stdout.close()
    for _ in range(5):  # new lines to write into the closed pipe: the ui logs each request
        get(f"{base_url('ui')}/no-such-page", auth=None)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 141, errors
    assert "Traceback" not in errors and "I/O operation on closed file" not in errors, errors
    wait_for(lambda: not followers(), 10, "docker compose logs --follow to end")


def test_logs_follow_ends_on_ctrl_c_with_130(stack: None) -> None:
    process = follow()
    os.killpg(process.pid, signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors
    assert errors.strip().splitlines()[-1:] == ["interrupted"] and "Traceback" not in errors, errors
    wait_for(lambda: not followers(), 10, "docker compose logs --follow to end")
