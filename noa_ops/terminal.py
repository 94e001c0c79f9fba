"""Styled or plain: the one decision for everything the CLI prints, and how it ends early.

Styled (colour, bold, bold echoed commands) only when the stream is a terminal, NO_COLOR is unset
or empty (https://no-color.org: any other value turns colour off) and TERM is not `dumb`. Plain
output has no escape codes at all, for files, pipes and CI logs.

An operator's interrupt and a reader that went away end a verb like any Unix tool: exit status
128 + the signal, 130 for Ctrl-C (SIGINT), 141 for a closed pipe (SIGPIPE), without a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from typing import Protocol


class Stream(Protocol):
    def isatty(self) -> bool: ...


INTERRUPTED = 128 + signal.SIGINT  # 130
READER_GONE = 128 + signal.SIGPIPE  # 141


def styled(stream: Stream | None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether output to `stream` may carry escape codes."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream is no terminal
        return False


def discard_stdout() -> None:
    """Point stdout at /dev/null once its reader is gone, so the flush at exit cannot fail again
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # no file behind it (replaced, or closed): nothing left to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
