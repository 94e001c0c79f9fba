"""One deploy per environment at a time: a lock file naming its holder.

The lock is a file created with O_EXCL under the state directory (.noa/locks/<env>.lock) holding
pid, host, user, verb and time. A second deploy, rollback or stop is refused naming the holder. A
lock left by a process that died on this host is taken over with a warning; one from another host
cannot be checked from here, so it is refused with the path to remove once the operator is sure.

`assess` decides and is pure; `hold` acts.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from . import paths
from .clock import utc_stamp
from .errors import NoaError
from .releases import operator_name
from .report import step

FREE, STALE, HELD = "free", "stale", "held"


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    user: str
    verb: str
    since: str  # ISO 8601, UTC

    def describe(self) -> str:
        return f"{self.verb} by {self.user}@{self.host} (pid {self.pid}) since {self.since}"


def me(verb: str) -> Holder:
    return Holder(os.getpid(), socket.gethostname(), operator_name(), verb, utc_stamp())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def assess(holder: Holder | None, host: str, alive: Callable[[int], bool] = pid_alive) -> str:
    """free: no lock; stale: its process died on this host; held: anything else (other hosts too)."""
    if holder is None:
        return FREE
    if holder.host == host and not alive(holder.pid):
        return STALE
    return HELD


def lock_path(env_name: str, directory: Path | None = None) -> Path:
    return (directory or paths.state("locks")) / f"{env_name}.lock"


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text())
        return Holder(int(data["pid"]), str(data["host"]), str(data["user"]), str(data["verb"]),
                      str(data["since"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # Unreadable (e.g. a crash mid-write): nobody can be named, so treat it as a dead holder.
        return Holder(-1, socket.gethostname(), "?", "?", "?")


def _create(path: Path, holder: Holder) -> bool:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(holder), handle)
    return True


def acquire(env_name: str, verb: str, directory: Path | None = None) -> Path:
    path = lock_path(env_name, directory)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    mine = me(verb)
    for _ in range(3):  # a stale lock removed by a racing taker-over: try again
        if _create(path, mine):
            return path
        holder = read_holder(path)
        state = assess(holder, mine.host)
        if state == HELD and holder is not None:
            raise NoaError(
                f"{verb}: {env_name} is locked by {holder.describe()}; wait for it to finish "
                f"(if that process is gone for sure, remove {path})"
            )
        if state == STALE and holder is not None:
            step(verb, f"warning: taking over the stale lock of {holder.describe()} (process gone)")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    raise NoaError(f"{verb}: could not take the lock {path}; retry")


def release(path: Path) -> None:
    holder = read_holder(path)
    if holder is not None and holder.pid == os.getpid():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def hold(env_name: str, verb: str, directory: Path | None = None) -> Iterator[Path]:
    """The environment's lock for the duration of the block."""
    path = acquire(env_name, verb, directory)
    try:
        yield path
    finally:
        release(path)
