"""`invoke logs`: lines merged in time order, filtered by level and pattern, also when followed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import catalogue, cli
from noa_ops import compose_commands as compose
from noa_ops import logs as service_logs
from noa_ops.environments import Environment
from noa_ops.errors import NoaError

from .helpers import mock_context


def test_log_lines_merge_in_time_order_and_filter() -> None:
    lines = [
        *service_logs.parse_all(
            '2026-01-01T00:00:02Z {"level":"info","msg":"mcp up"}\n'
            '2026-01-01T00:00:04.25Z {"level":"error","msg":"boom"}',
            lambda raw: service_logs.parse_timestamped("mcp", raw),
        ),
        service_logs.parse_timestamped("postgres", "2026-01-01T00:00:03.5Z LOG: ready"),
        service_logs.parse_compose_line(
            'agenticos-1  | 2026-01-01T00:00:04.1Z {"level":"warning","msg":"x"}'
        ),
    ]
    parsed = [line for line in lines if line is not None]
    merged = service_logs.select_lines(parsed, None, None)
    assert [line.service for line in merged] == ["mcp", "postgres", "agenticos", "mcp"]
    warn = service_logs.check_level("warning")
    assert [line.text for line in service_logs.select_lines(parsed, warn, None)] == [
        '{"level":"warning","msg":"x"}',
        '{"level":"error","msg":"boom"}',
    ]
    assert [
        line.service
        for line in service_logs.select_lines(parsed, None, service_logs.compile_pattern("ready|boom"))
    ] == ["postgres", "mcp"]


def test_log_flag_errors_are_one_line() -> None:
    with pytest.raises(NoaError, match="unknown level 'loud'; valid: debug, info, warning, error, critical"):
        service_logs.check_level("loud")
    with pytest.raises(NoaError, match="is not a regular expression"):
        service_logs.compile_pattern("(")


def test_followed_lines_are_filtered_as_they_arrive() -> None:
    sink = io.StringIO()
    stream = service_logs.LineFilter(
        service_logs.parse_compose_line, service_logs.check_level("error"), None, 5, sink
    )
    stream.write('mcp-1  | 2026-01-01T00:00:01Z {"level":"error","msg":"a"}\nmcp-1  | 2026-01-01T00:0')
    stream.write('0:02Z {"level":"info","msg":"b"}\nui-1  | 2026-01-01T00:00:03Z {"level":"critical"}\n')
    assert sink.getvalue() == 'mcp   | {"level":"error","msg":"a"}\nui    | {"level":"critical"}\n'


def test_logs_task_merges_services(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], dev: Environment
) -> None:
    from noa_ops import envfile

    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    c = mock_context(
        {
            "docker info --format '{{.ServerVersion}}'": Result("20.10\n"),
            "docker compose version --short": Result("2.40.3\n"),
            compose.service_logs(dev, "mcp", tail=200): Result(
                '2026-01-01T00:00:02Z {"level":"info","msg":"m"}\n'
            ),
            compose.service_logs(dev, "ui", tail=200): Result("2026-01-01T00:00:01Z GET / 200\n"),
        }
    )
    cli.logs(c, env="dev", service=["ui", "mcp"])
    assert capsys.readouterr().out.splitlines() == ["ui  | GET / 200", 'mcp | {"level":"info","msg":"m"}']


def test_merge_orders_by_time_whatever_the_precision_or_offset() -> None:
    stamped = ["2026-01-01T00:00:04.15Z b", "2026-01-01T00:00:04Z a", "2026-01-01T01:00:04.1+01:00 z",
               "2026-01-01T00:00:04.1Z c", "2026-01-01T00:00:03.999999999-00:00 y"]
    lines = [line for raw in stamped if (line := service_logs.parse_timestamped("s", raw))]
    assert [line.text for line in service_logs.merge(lines)] == ["y", "a", "z", "c", "b"]
    assert service_logs.normalise_timestamp("2026-01-01T01:00:04.1+01:00") == "2026-01-01T00:00:04.100000000Z"
    assert service_logs.normalise_timestamp("not a time") == "not a time"


@pytest.mark.parametrize(("exited", "fails"), [(1, True), (125, True), (0, False)])
def test_a_followed_stream_that_fails_fails_the_task(
    in_tmp: Path, dev: Environment, exited: int, fails: bool
) -> None:
    from noa_ops import envfile

    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    followed = compose.follow_logs(dev, catalogue.names(), tail=200, since="garbage")
    c = mock_context({
        "docker info --format '{{.ServerVersion}}'": Result("20.10\n"),
        "docker compose version --short": Result("2.40.3\n"),
        followed: Result("", stderr="invalid value \"garbage\" for flag --since\n", exited=exited),
    })
    if not fails:
        cli.logs(c, env="dev", since="garbage", follow=True)
        return
    with pytest.raises(Exit) as raised:
        cli.logs(c, env="dev", since="garbage", follow=True)
    assert raised.value.code == exited
    assert str(raised.value.message) == (f"logs: docker ended with exit {exited}: "
                                         "invalid value \"garbage\" for flag --since")
