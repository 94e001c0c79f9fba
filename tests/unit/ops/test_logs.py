"""`invoke logs`: lines merged in time order, filtered by level and pattern, also when followed."""

from __future__ import annotations

import io
import json as json_module
from pathlib import Path
from typing import Any
from unittest.mock import DEFAULT

import pytest
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import catalogue, cli, paths
from noa_ops import compose_commands as compose
from noa_ops import logs as service_logs
from noa_ops.environments import Environment
from noa_ops.errors import NoaError

from .helpers import mock_context, runs


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


PG = "2026-12-03 05:40:01.123 UTC [57]"
REDIS = "03 Dec 2026 05:40:01.123"
NGINX = "2026/12/03 05:40:01"


@pytest.mark.parametrize(("text", "level"), [
    # Postgres, log_line_prefix '%m [%p] '.
    (f"{PG} LOG:  database system is ready to accept connections", "info"),
    (f"{PG} LOG:  duration: 1200 ms  statement: select 'WARNING:  not the severity'", "info"),
    (f"{PG} DEBUG2:  checkpointer updated shared memory", "debug"),
    (f"{PG} NOTICE:  relation \"memory\" already exists, skipping", "info"),
    (f"{PG} WARNING:  there is no transaction in progress", "warning"),
    (f"{PG} ERROR:  relation \"nope\" does not exist at character 15", "error"),
    (f"{PG} FATAL:  password authentication failed for user \"noa_mcp\"", "critical"),
    (f"{PG} PANIC:  could not write to file \"pg_wal/xlogtemp.57\"", "critical"),
    *[(f"{PG} {field}:  select * from nope", "info")
      for field in ("STATEMENT", "DETAIL", "HINT", "CONTEXT", "QUERY", "LOCATION")],
    (f"{PG} LOG: one space after the severity is not Postgres", None),
    ("The files belonging to this database system will be owned by user \"noa\".", None),
    ("waiting for server to start.... done", None),
    # Redis 7: pid:role, then the level mark.
    (f"1:M {REDIS} * Ready to accept connections tcp", "info"),
    (f"1:C {REDIS} # WARNING Memory overcommit must be enabled!", "warning"),
    (f"1:M {REDIS} * DB saved on disk # not a warning", "info"),
    (f"1:S {REDIS} . Client closed connection", "debug"),
    (f"7:X {REDIS} - Accepted 127.0.0.1:41234", "debug"),
    (f"1:Q {REDIS} # not a role Redis has", None),
    # llama-server (common_init's prefix: time since start, then D/I/W/E).
    ("0.00.012.345 I srv    load_model: loading model '/models/gemma-3-270m-q4_k_m.gguf'", "info"),
    ("0.00.412.001 W llama_context: n_ctx_per_seq (4096) < n_ctx_train (32768)", "warning"),
    ("12.03.004.120 E srv    operator(): got exception: {\"code\":500}", "error"),
    ("0.00.000.100 D srv  params_from_: Chat format: Content-only", "debug"),
    ("I srv  update_slots: all slots are idle", None),  # no time: could be any sentence
    ("..........................", None),  # a continued line carries no prefix
    ("error: invalid argument: --bogus", "error"),
    ("warning: failed to create prompts-log-dir '/x': Permission denied", "warning"),
    # nginx's error log, and its stderr before that log is open.
    (f"{NGINX} [warn] 1#1: *3 upstream server temporarily disabled while connecting to upstream", "warning"),
    (f"{NGINX} [error] 7#7: *9 connect() failed (111: Connection refused) while connecting", "error"),
    (f"{NGINX} [notice] 1#1: using the \"epoll\" event method", "info"),
    (f"{NGINX} [info] 8#8: *1 client closed connection", "info"),
    (f"{NGINX} [debug] 8#8: *1 http cleanup", "debug"),
    (f"{NGINX} [crit] 1#1: pwrite() \"/tmp/nginx-proxy/1\" failed (28: No space left on device)", "critical"),
    (f"{NGINX} [alert] 1#1: worker process 9 exited on signal 9", "critical"),
    ("nginx: [emerg] host not found in upstream \"mcp:8001\" in /etc/nginx/nginx.conf:135", "critical"),
    (f"{NGINX} [warning] 1#1: nginx never says warning", None),
    # Python's and uvicorn's default formats.
    ("WARNING:  Invalid HTTP request received.", "warning"),
    ("INFO:     Started server process [1]", "info"),
    ("ERROR:root:boom", "error"),
    ("CRITICAL:noa_mcp:gone", "critical"),
    ("DEBUG:asyncio:Using selector: EpollSelector", "debug"),
    ("Warning: not a format we know", None),
    # Our entrypoints.
    ("noa-redis: error: REDIS_PASSWORD (or REDIS_PASSWORD_FILE) is not set; refusing to start", "error"),
    ("noa-postgres: initialisation complete", "info"),
    ("noa-postgres: errors are not an error: prefix", "info"),
    # JSON is read as JSON only.
    ('{"msg":"WARNING: x"}', None),
    ("GET / 200", None),
])
def test_native_formats_name_their_level(text: str, level: str | None) -> None:
    line = service_logs.parse_timestamped("s", f"2026-12-03T05:40:01.123Z {text}")
    assert line is not None
    assert line.level == level
    assert line.as_json()["level"] == level


def test_a_json_level_wins_and_a_json_line_without_one_has_none() -> None:
    assert service_logs.native_level('{"level":"error"}') is None
    shown = service_logs.parse_timestamped("ui", '2026-12-03T05:40:01Z {"level":"warn","status":404}')
    unlevelled = service_logs.parse_timestamped("mcp", '2026-12-03T05:40:01Z {"msg":"no level"}')
    assert shown is not None and shown.level == "warn"
    assert unlevelled is not None and unlevelled.level is None


def parsed(*texts: str) -> list[service_logs.LogLine]:
    stamped = [f"2026-12-03T05:40:{n:02}Z {text}" for n, text in enumerate(texts)]
    return [line for raw in stamped if (line := service_logs.parse_timestamped("s", raw))]


def test_level_warning_keeps_native_warnings_and_counts_the_lines_it_cannot_read() -> None:
    warnings = [
        f"1:C {REDIS} # WARNING Memory overcommit must be enabled!",
        f"{PG} ERROR:  relation \"nope\" does not exist",
        f"{NGINX} [warn] 1#1: *3 upstream timed out",
        '{"level":"warn","msg":"slow"}',
    ]
    below = [f"1:M {REDIS} * DB saved on disk # not a warning", f"{PG} LOG:  statement: select 'WARNING:  x'"]
    unclassified = ['{"msg":"no level"}', '{"level":"trace","msg":"a level logs does not know"}',
                    "waiting for server to start.... done"]
    lines = parsed(*below, *warnings, *unclassified)
    for name in ("warning", "warn"):
        warn = service_logs.check_level(name)
        assert [line.text for line in service_logs.select_lines(lines, warn, None)] == warnings
        assert service_logs.count_unclassified(lines, warn, None) == len(unclassified)
    # Only the lines --grep would have shown are counted; without --level nothing is.
    grep = service_logs.compile_pattern("waiting")
    assert service_logs.count_unclassified(lines, service_logs.check_level("error"), grep) == 1
    assert service_logs.count_unclassified(lines, None, None) == 0
    assert len(service_logs.select_lines(lines, None, None)) == len(lines)


def test_the_note_on_unclassified_lines_is_one_line() -> None:
    assert service_logs.unclassified_note(0, "warning") == ""
    assert service_logs.unclassified_note(1, "error") == (
        "logs: 1 line had no known level and was left out by --level error")
    assert service_logs.unclassified_note(12, "warning") == (
        "logs: 12 lines had no known level and were left out by --level warning")


def test_a_followed_stream_counts_what_it_could_not_classify() -> None:
    sink = io.StringIO()
    stream = service_logs.LineFilter(
        service_logs.parse_compose_line, service_logs.check_level("warning"), None, 8, sink
    )
    stream.write(f"postgres-1  | 2026-01-01T00:00:01Z {PG} WARNING:  careful\n"
                 "postgres-1  | 2026-01-01T00:00:02Z waiting for server to start.... done\n")
    stream.write(f"redis-1  | 2026-01-01T00:00:03Z 1:M {REDIS} * Ready to accept connections tcp\n"
                 "ui-1  | 2026-01-01T00:00:04Z some line\n")
    assert sink.getvalue() == f"postgres | {PG} WARNING:  careful\n"
    assert stream.unclassified == 2
    unfiltered = service_logs.LineFilter(service_logs.parse_compose_line, None, None, 8, io.StringIO())
    unfiltered.write("ui-1  | 2026-01-01T00:00:04Z some line\n")
    assert unfiltered.unclassified == 0


NATIVE_LOGS = {
    "postgres": (f"2026-01-01T00:00:01Z {PG} WARNING:  careful\n"
                 "2026-01-01T00:00:02Z waiting for server to start.... done\n"
                 f"2026-01-01T00:00:03Z {PG} LOG:  database system is ready to accept connections\n"),
    "ui": f"2026-01-01T00:00:04Z {NGINX} [error] 7#7: *9 connect() failed\n2026-01-01T00:00:05Z GET / 200\n",
}


def logs_context(dev: Environment, extra: dict[str, Result]) -> Any:
    from noa_ops import envfile

    envfile.write(paths.ROOT / ".noa" / "dev.env", "dev")
    return mock_context({
        "docker info --format '{{.ServerVersion}}'": Result("20.10\n"),
        "docker compose version --short": Result("2.40.3\n"),
        **extra,
    })


@pytest.mark.parametrize("json", [False, True])
def test_the_logs_task_says_how_many_lines_level_left_out(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], dev: Environment, json: bool
) -> None:
    c = logs_context(dev, {compose.service_logs(dev, name, tail=200): Result(text)
                           for name, text in NATIVE_LOGS.items()})
    cli.logs(c, env="dev", service=["postgres", "ui"], level="warning", json=json)
    shown = capsys.readouterr()
    if json:
        assert [(line["service"], line["level"]) for line in json_module.loads(shown.out)] == [
            ("postgres", "warning"), ("ui", "error")]
    else:
        assert shown.out.splitlines() == [f"postgres | {PG} WARNING:  careful",
                                          f"ui       | {NGINX} [error] 7#7: *9 connect() failed"]
    assert shown.err == "logs: 2 lines had no known level and were left out by --level warning\n"


def test_without_level_every_line_is_shown_and_nothing_counted(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], dev: Environment
) -> None:
    c = logs_context(dev, {compose.service_logs(dev, name, tail=200): Result(text)
                           for name, text in NATIVE_LOGS.items()})
    cli.logs(c, env="dev", service=["postgres", "ui"])
    shown = capsys.readouterr()
    assert len(shown.out.splitlines()) == 5
    assert shown.err == ""


@pytest.mark.parametrize(("level", "said"), [
    ("error", "logs: 1 line had no known level and was left out by --level error\n"),
    ("", ""),
])
def test_a_followed_task_says_the_count_when_the_stream_ends(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], dev: Environment, level: str, said: str
) -> None:
    followed = compose.follow_logs(dev, ["postgres"], tail=200)
    c = logs_context(dev, {followed: Result("")})

    def stream_lines(command: str, **kwargs: Any) -> Any:
        if "out_stream" in kwargs:
            kwargs["out_stream"].write("".join(f"postgres-1  | {raw}\n" for raw in (
                f"2026-01-01T00:00:01Z {PG} ERROR:  boom", "2026-01-01T00:00:02Z waiting for server")))
        return DEFAULT

    runs(c).side_effect = stream_lines
    cli.logs(c, env="dev", service=["postgres"], follow=True, level=level)
    shown = capsys.readouterr()
    assert f"postgres | {PG} ERROR:  boom" in shown.out.splitlines()
    assert ("waiting for server" in shown.out) is not bool(level)
    assert shown.err == said
