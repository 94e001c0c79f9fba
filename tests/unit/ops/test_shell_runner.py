"""The commands a verb runs end with it (noa_ops/shell.py's Runner), through invoke itself: a reader
that closes the pipe (`invoke logs --follow | head -1`) ends the verb with 141, Ctrl-C with 130 and
SIGTERM with 143, without a traceback, and the followed command is gone too.

`docker` is a stand-in first on PATH: it answers the preflight and follows logs forever, ignoring
SIGPIPE (so only the runner can end it), and, when stubborn, SIGINT too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from noa_ops import envfile, shell

from .helpers import REPO, invoke

FAKE_DOCKER = """#!/bin/sh
case "$*" in
  info*) echo 27.0.0 ;;
  "compose version"*) echo 2.30.0 ;;
  *" logs "*)
    trap '' PIPE
    [ -n "$FAKE_DOCKER_STUBBORN" ] && trap '' INT
    echo $$ > "$FAKE_DOCKER_PID"
    while :; do
      echo 'mcp-1  | 2026-12-03T05:40:01.000000000Z {"level":"info","msg":"x"}' 2>/dev/null
      sleep 0.05
    done ;;
  *" down "*) echo "fake docker: down" ;;
  *) echo "fake docker: $*" >&2; exit 2 ;;
esac
"""


@dataclass
class FakeDocker:
    env: dict[str, str]
    pid_file: Path
    runtime_config: Path

    def pid(self) -> int:
        return int(self.pid_file.read_text())


@pytest.fixture
def docker(tmp_path: Path) -> Iterator[FakeDocker]:
    """The stand-in, and a runtime config giving dev an env file of the test's own."""
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "docker"
    script.write_text(FAKE_DOCKER)
    script.chmod(0o755)
    env_file = tmp_path / "dev.env"
    envfile.write(env_file, "dev")
    runtime = tmp_path / "runtime.yaml"
    runtime.write_text(f"noa:\n  environments:\n    dev:\n      env_file: {env_file}\n")
    env = {"PATH": f"{script.parent}{os.pathsep}{os.environ['PATH']}",
           "FAKE_DOCKER_PID": str(tmp_path / "pid"), "NOA_STATE_DIR": str(tmp_path / "state")}
    fake = FakeDocker(env, tmp_path / "pid", runtime)
    yield fake
    if fake.pid_file.exists():  # a failed test must not leave it looping
        with contextlib.suppress(ProcessLookupError):
            os.kill(fake.pid(), signal.SIGKILL)


def running(pid: int) -> bool:
    """Alive, not a zombie waiting for a parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def follow(docker: FakeDocker, *, stubborn: bool = False) -> subprocess.Popen[str]:
    """`invoke logs --env dev --follow` in a session of its own, as a terminal starts a job, once it
    printed its first line."""
    env = {**os.environ, **docker.env, **({"FAKE_DOCKER_STUBBORN": "1"} if stubborn else {})}
    command = [sys.executable, "-m", "invoke", "-f", str(docker.runtime_config), "logs", "--env", "dev",
               "--follow"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    assert process.stdout.readline() == 'mcp         | {"level":"info","msg":"x"}\n'
    return process


def ended(process: subprocess.Popen[str], seconds: float) -> tuple[int, str]:
    """Exit status and stderr; a process still running after `seconds` is killed and fails the test."""
    try:
        code = process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"still running {seconds} s later")
    assert process.stderr is not None
    return code, process.stderr.read()


def test_a_reader_that_closes_the_pipe_ends_the_follow_and_the_command(docker: FakeDocker) -> None:
    process = follow(docker)
    assert process.stdout is not None
    process.stdout.close()  # `| head -1`
    assert ended(process, 10) == (141, "")
    assert gone_within(docker.pid(), 5)


@pytest.mark.parametrize(("signum", "stubborn", "code", "said"), [
    (signal.SIGINT, False, 130, "interrupted\n"),
    # A command that ignores the interrupt gets SIGTERM once the grace has passed.
    (signal.SIGINT, True, 130, "interrupted\n"),
    (signal.SIGTERM, False, 143, ""),
])
def test_a_signal_to_the_job_ends_the_follow_and_the_command(docker: FakeDocker, signum: int, stubborn: bool,
                                                             code: int, said: str) -> None:
    process = follow(docker, stubborn=stubborn)
    os.killpg(process.pid, signum)  # Ctrl-C: the terminal signals the whole foreground job
    assert ended(process, shell.GRACE + 10) == (code, said)
    assert gone_within(docker.pid(), 5)


def test_an_interrupt_for_invoke_alone_reaches_the_command(docker: FakeDocker) -> None:
    """`kill -INT <invoke>`: invoke itself would only write ^C to the command's stdin."""
    process = follow(docker)
    process.send_signal(signal.SIGINT)
    assert ended(process, shell.GRACE + 10) == (130, "interrupted\n")
    assert gone_within(docker.pid(), 5)


@pytest.mark.parametrize(("pty", "no_color", "bold"), [
    (False, "", False),
    (True, "", True),
    (True, "1", False),
])
def test_an_echoed_command_is_bold_on_a_terminal_only(docker: FakeDocker, pty: bool, no_color: str,
                                                      bold: bool) -> None:
    code, out, err = invoke("-f", str(docker.runtime_config), "stop", "--env", "dev",
                            env={**docker.env, "NO_COLOR": no_color, "TERM": "xterm"}, pty=pty)
    assert code == 0, out + err
    assert " down --remove-orphans" in out
    assert ("\x1b[1;37mcd " in out) is bold  # invoke's bold echo of `cd <checkout> && docker compose ...`
    assert ("\x1b[" in out + err) is bold
