"""Styled or plain (noa_ops/terminal.py): colour only on a terminal, NO_COLOR and TERM=dumb honoured,
plain output without escape codes or inserted line breaks; through invoke itself too."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

from noa_ops import cli, envfile, report, shell, terminal

from .helpers import invoke, mock_context

DIGEST = "sha256:" + "0123456789abcdef" * 4  # 71 characters, as an image ID is printed


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        super().isatty()  # ValueError once closed, as a real file
        return self.tty


@pytest.mark.parametrize(("tty", "environ", "expected"), [
    (True, {}, True),
    (True, {"NO_COLOR": ""}, True),  # the near miss: set but empty keeps colour (no-color.org)
    (True, {"NO_COLOR": "1"}, False),
    (True, {"NO_COLOR": "0"}, False),  # any non-empty value, even "0"
    (True, {"TERM": "dumb"}, False),
    (True, {"TERM": "xterm-256color", "NO_COLOR": ""}, True),
    (False, {}, False),
    (False, {"NO_COLOR": ""}, False),
])
def test_styled_only_on_a_terminal_without_no_color(tty: bool, environ: dict[str, str],
                                                    expected: bool) -> None:
    assert terminal.styled(Stream(tty), environ) is expected


def test_a_closed_or_missing_stream_is_plain() -> None:
    closed = Stream(True)
    closed.close()
    assert terminal.styled(closed, {}) is False
    assert terminal.styled(None, {}) is False


def test_plain_console_prints_no_escape_codes_and_breaks_no_line(capsys: pytest.CaptureFixture[str]) -> None:
    message = f"{'a step that says a lot ' * 6}then the digest {DIGEST}"
    report.console(False).print(f"[bold]build[/]: {message}")
    assert capsys.readouterr().out == f"build: {message}\n"


def test_styled_console_styles(capsys: pytest.CaptureFixture[str]) -> None:
    report.console(True).print("[bold]build[/]: done")
    assert "\x1b[1mbuild\x1b[0m: done" in capsys.readouterr().out


def test_a_plain_table_keeps_a_long_reference_on_one_line(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    reference = f"127.0.0.1:5055/noa/claude-flow@{DIGEST}"
    monkeypatch.setattr(report, "out", report.console(False))
    report.print_images({"claude-flow": reference}, "pushed 1a2b3c4d5e6f to 127.0.0.1:5055/noa")
    printed = capsys.readouterr().out
    assert "\x1b[" not in printed
    assert [line for line in printed.splitlines() if reference in line] != []


@pytest.mark.parametrize(("tty", "echo_format"), [(False, shell.PLAIN_ECHO), (True, None)])
def test_the_tasks_echo_commands_plain_unless_styled(tty: bool, echo_format: str | None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(sys, "stdout", Stream(tty))
    config = shell.invoke_config()
    assert config["runners"]["local"] is shell.Runner
    assert config["run"].get("echo_format") == echo_format  # None: invoke's bold default


@pytest.mark.parametrize(("raised", "code", "message"), [
    (KeyboardInterrupt, 130, "interrupted"),
    (BrokenPipeError, 141, ""),
])
def test_an_interrupt_or_a_closed_pipe_ends_any_verb_with_its_code(raised: type[BaseException], code: int,
                                                                    message: str) -> None:
    @cli.operator_task()
    def verb(c: MockContext) -> None:
        raise raised

    with pytest.raises(Exit) as ended:
        verb(MockContext())
    assert (ended.value.code, ended.value.message or "") == (code, message)


@pytest.fixture
def checked_file(tmp_path: Path) -> Path:
    """A dev env file that passes, deep enough that its path is longer than a terminal is wide, with a
    71-character digest in a value the table shows."""
    path = tmp_path.joinpath("an-operator-s-checkout", "with-a-long-directory-name", "for-secrets", "dev.env")
    path.parent.mkdir(parents=True)
    envfile.write(path, "dev")
    path.write_text(path.read_text() + f"MODEL_PATH=/models/{DIGEST}.gguf\n")
    return path


def test_a_piped_table_and_step_line_are_plain_and_unbroken(checked_file: Path) -> None:
    code, out, err = invoke("env-check", "--env", "dev", "--file", str(checked_file))
    assert code == 0, err
    assert "\x1b[" not in out + err
    assert [line for line in out.splitlines() if f"/models/{DIGEST}.gguf" in line] != []
    assert err == f"env-check: {checked_file} passes the dev rules\n"


@pytest.mark.parametrize(("no_color", "styled"), [("", True), ("1", False)])
def test_on_a_terminal_colour_unless_no_color(checked_file: Path, no_color: str, styled: bool) -> None:
    code, shown, _ = invoke("env-check", "--env", "dev", "--file", str(checked_file),
                            env={"NO_COLOR": no_color, "TERM": "xterm"}, pty=True)
    assert code == 0, shown
    assert ("\x1b[" in shown) is styled


def test_ctrl_c_ends_a_health_watch_with_130_not_its_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from noa_ops.targets import compose as target

    probes_made: list[int] = []

    def probe(c: object, env: object) -> list[object]:
        if probes_made:
            raise KeyboardInterrupt
        probes_made.append(1)
        return []  # all healthy

    monkeypatch.setattr(target, "preflight_read", lambda c, env, verb: None)
    monkeypatch.setattr(target, "health", probe)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    with pytest.raises(Exit) as ended:
        cli.health(mock_context(), env="dev", watch=True, json=True)
    assert (ended.value.code, ended.value.message) == (130, "interrupted")


def test_ctrl_c_during_a_command_ends_its_group_and_then_the_verb(tmp_path: Path) -> None:
    """SIGINT while a command runs (here a shell and the sleep it started, in a session of their
    own): the Runner forwards it to the group and, once the group has ended, raises
    KeyboardInterrupt; nothing of the group is left (its pid file names a process that is gone)."""
    import os
    import signal
    import threading
    import time

    from invoke.config import Config
    from invoke.context import Context

    from noa_ops import shell

    pid_file = tmp_path / "sleep.pid"
    before = signal.getsignal(signal.SIGINT)
    c = Context(Config(overrides={**shell.invoke_config(), "run": {"in_stream": False, "hide": True}}))
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        c.run(f"sleep 30 & echo $! > {pid_file}; wait", warn=True)
    assert time.monotonic() - started < 10
    sleeper = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(sleeper, 0)
    assert signal.getsignal(signal.SIGINT) == before  # restored
