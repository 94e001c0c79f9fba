"""Process supervision: each component in its own session, its log under <state>/logs, a pid
file (pid and kernel start time, so a reused pid is never mistaken for ours) under <state>/pids."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from noa_ops.cluster import ClusterError
from noa_ops.cluster.config import ClusterConfig


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), None if no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class Proc:
    name: str
    pid: int
    started: str

    def alive(self) -> bool:
        if start_time(self.pid) != self.started:
            return False
        state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"


def pid_file(cfg: ClusterConfig, name: str) -> Path:
    return cfg.pids_dir / f"{name}.pid"


def log_file(cfg: ClusterConfig, name: str) -> Path:
    return cfg.logs_dir / f"{name}.log"


def read(cfg: ClusterConfig, name: str) -> Proc | None:
    path = pid_file(cfg, name)
    try:
        pid_text, started = path.read_text().split()
    except (OSError, ValueError):
        return None
    return Proc(name, int(pid_text), started)


def running(cfg: ClusterConfig, name: str) -> Proc | None:
    proc = read(cfg, name)
    return proc if proc is not None and proc.alive() else None


def start(cfg: ClusterConfig, name: str, command: list[str], env: dict[str, str] | None = None) -> Proc:
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    cfg.pids_dir.mkdir(parents=True, exist_ok=True)
    with log_file(cfg, name).open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
        log.flush()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=env, close_fds=True)
    started = None
    for _ in range(100):
        started = start_time(child.pid)
        if started is not None:
            break
        time.sleep(0.01)
    if started is None:
        raise ClusterError(f"{name} exited at once; see {log_file(cfg, name)}")
    pid_file(cfg, name).write_text(f"{child.pid} {started}\n")
    return Proc(name, child.pid, started)


def log_tail(cfg: ClusterConfig, name: str, lines: int = 15) -> str:
    try:
        text = log_file(cfg, name).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_healthy(cfg: ClusterConfig, proc: Proc, check: Callable[[], bool], timeout: float) -> float:
    """Poll `check` until it passes; seconds taken. On death or deadline: ClusterError with the log."""
    started = time.monotonic()
    while True:
        if not proc.alive():
            raise ClusterError(f"{proc.name} exited; last lines of {log_file(cfg, proc.name)}:\n"
                               f"{log_tail(cfg, proc.name)}")
        try:
            if check():
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise ClusterError(f"{proc.name} not healthy after {timeout:.0f} s; last lines of "
                               f"{log_file(cfg, proc.name)}:\n{log_tail(cfg, proc.name)}")
        time.sleep(0.2)


def stop(cfg: ClusterConfig, name: str, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True if a live process was stopped."""
    proc = running(cfg, name)
    stopped = False
    if proc is not None:
        stopped = True
        kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while proc.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.alive():
            kill(proc.pid, signal.SIGKILL)
            while proc.alive() and time.monotonic() < deadline + 5:
                time.sleep(0.05)
    pid_file(cfg, name).unlink(missing_ok=True)
    return stopped


def kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
