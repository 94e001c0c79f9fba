"""Running Python code inside the cluster's network namespace: setns(2) in a thread of its own
(a network namespace is per thread), so the calling process stays on the host."""

from __future__ import annotations

import ctypes
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from noa_ops.cluster import ClusterError

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def netns_path(name: str) -> Path:
    return Path("/run/netns") / name


def _setns(path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def enter_netns(name: str) -> None:
    """Move the calling thread into the namespace (for a thread that stays there)."""
    _setns(netns_path(name))


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Call fn in a new thread inside network namespace `name`; its sockets stay in there."""
    path = netns_path(name)
    if not path.exists():
        raise ClusterError(f"network namespace {name} does not exist (is the cluster up?)")
    results: queue.Queue[tuple[bool, object]] = queue.Queue()

    def runner() -> None:
        try:
            _setns(path)
            results.put((True, fn()))
        except BaseException as error:  # handed back to the caller's thread
            results.put((False, error))

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    thread.join()
    ok, value = results.get()
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]
