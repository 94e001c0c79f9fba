"""Running commands through invoke's Context so tests can check them with MockContext.

`invoke_config` is the runner configuration tasks.py installs: echoed commands bold on a terminal
only (noa_ops/terminal.py), and `Runner`, which ends the commands it starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Any

from invoke.context import Context
from invoke.exceptions import ThreadException
from invoke.runners import Local, Result

from . import paths, terminal
from .errors import NoaError

PLAIN_ECHO = "{command}"  # invoke's default wraps the command in bold escape codes
# Seconds a command may take to end after a forwarded signal, and after SIGTERM, before the next.
GRACE = 3.0
# Caught from the moment the command starts: a Ctrl-C that came before invoke's wait() (where its
# KeyboardInterrupt would reach send_interrupt) left the command and its output threads running.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Runner(Local):
    """invoke's local runner, but the command and everything it starts end with the run.

    The command runs in a session of its own (its process group is the whole command: the shell
    and what it started), so terminal signals reach invoke alone, which forwards Ctrl-C, SIGTERM
    and SIGHUP to the group; invoke alone would write ^C to a stdin nobody reads and keep waiting.
    Once the command ended, the signal ends the verb too: KeyboardInterrupt, or exit 128 + n.
    The group gets SIGTERM, then SIGKILL, when nobody reads its output any more (our stdout was
    closed: BrokenPipeError), when it outlives a forwarded signal by GRACE, and when the run ends
    any other way while it still runs. A command that wants the terminal fails instead of waiting.
    """

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.command: subprocess.Popen[bytes] | None = None
        self.received: int | None = None
        self.deadline: float | None = None
        self.saved: dict[int, Any] = {}

    def start(self, command: str, shell: str, env: dict[str, Any]) -> None:
        if self.using_pty:  # never in this package: invoke's own handling
            super().start(command, shell, env)
            return
        # invoke's Popen, in a new session.
        self.process = self.command = subprocess.Popen(
            command, shell=True, executable=shell, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        self.catch_signals()

    def catch_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED:
                self.saved[signum] = signal.signal(signum, self.forward)

    def restore_signals(self) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self.saved.clear()

    def forward(self, signum: int, frame: FrameType | None = None) -> None:
        self.received = self.received or signum
        self.deadline = self.deadline or time.monotonic() + GRACE
        self.signal_command(signum)

    def send_interrupt(self, interrupt: KeyboardInterrupt) -> None:
        if self.command is None:
            super().send_interrupt(interrupt)
        else:
            self.forward(signal.SIGINT)

    def signal_command(self, signum: int) -> None:
        if self.command is not None:
            with contextlib.suppress(ProcessLookupError):  # the whole group has ended
                os.killpg(self.command.pid, signum)

    def group_alive(self) -> bool:
        if self.command is None:
            return False
        try:
            os.killpg(self.command.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def end_command(self) -> None:
        """SIGTERM to the group; SIGKILL to whatever is left once the group ended or GRACE passed."""
        if self.command is None:
            return
        self.signal_command(signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.signal_command(signal.SIGKILL)
        self.command.wait()

    def wait(self) -> None:
        if self.command is None:
            super().wait()
            return
        while self.command.poll() is None:
            if self.has_dead_threads or (self.deadline is not None and time.monotonic() > self.deadline):
                self.end_command()
            else:
                time.sleep(self.input_sleep)
        if self.received is not None and self.group_alive():
            # The shell ended on the signal, but what it started may not have (a child that ignores
            # SIGINT, docker's plugin process): it still holds the output the verb waits for.
            self.end_command()

    def kill(self) -> None:
        """invoke's timeout: the group, not only the shell."""
        if self.command is None:
            super().kill()
        else:
            self.signal_command(signal.SIGKILL)

    def stop(self) -> None:
        super().stop()
        if self.command is not None and self.command.poll() is None:
            self.end_command()
        self.restore_signals()

    def run(self, command: str, **kwargs: Any) -> Result:
        try:
            result = super().run(command, **kwargs)
        except ThreadException as error:
            self.raise_received()
            if all(isinstance(inner.value, BrokenPipeError) for inner in error.exceptions):
                raise BrokenPipeError("the reader of the output went away") from None
            raise
        self.raise_received()
        return result

    def raise_received(self) -> None:
        if self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if self.received is not None:
            raise SystemExit(128 + self.received)


def invoke_config() -> dict[str, Any]:
    """The invoke configuration of the tasks (tasks.py): our runner, and plain echo unless styled."""
    echo = {} if terminal.styled(sys.stdout) else {"echo_format": PLAIN_ECHO}
    return {"runners": {"local": Runner}, "run": echo}


def run(c: Context, command: str, **kwargs: Any) -> Result:
    """Run a command that may fail, in the checkout (paths.ROOT); the caller decides what a failure
    means."""
    with c.cd(str(paths.ROOT)):
        result = c.run(command, warn=True, **kwargs)
    if result is None:  # only with disown/asynchronous, which this package never uses
        raise RuntimeError(f"no result from {command!r}")
    return result


def run_checked(c: Context, command: str, what: str, **kwargs: Any) -> Result:
    """Run a command; on failure, one line naming the step instead of invoke's long report."""
    result = run(c, command, **kwargs)
    if result.failed:
        raise NoaError(f"{what} failed (exit {result.exited}): {command}")
    return result
