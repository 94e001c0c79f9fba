"""The pure decisions behind the operator verbs: locks, releases, rollback choice, logs, push, status."""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path

import pytest
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import cli, compose, images, locking, releases, status
from noa_ops import logs as service_logs
from noa_ops import registry as image_registry
from noa_ops.environments import Environment
from noa_ops.releases import Event

from .helpers import mock_context, runs

BASE = "docker compose -p noa-dev -f docker/docker-compose.yml --env-file .noa/dev.env"

# --- locking -----------------------------------------------------------------------------------


def holder(pid: int = 4242, host: str = "here") -> locking.Holder:
    return locking.Holder(pid, host, "ops", "deploy", "2026-01-01T00:00:00Z")


def test_lock_assessment() -> None:
    assert locking.assess(None, "here") == locking.FREE
    assert locking.assess(holder(), "here", alive=lambda pid: True) == locking.HELD
    assert locking.assess(holder(), "here", alive=lambda pid: False) == locking.STALE
    # Another host's process cannot be checked from here: never taken over.
    assert locking.assess(holder(host="elsewhere"), "here", alive=lambda pid: False) == locking.HELD


def test_a_held_lock_names_its_holder(tmp_path: Path) -> None:
    path = locking.lock_path("dev", tmp_path)
    path.write_text(
        json.dumps(
            {
                "pid": os.getppid(),
                "host": socket.gethostname(),
                "user": "alice",
                "verb": "deploy",
                "since": "2026-01-01T00:00:00Z",
            }
        )
    )
    with pytest.raises(Exit) as raised:
        locking.acquire("dev", "rollback", tmp_path)
    assert raised.value.message == (
        f"rollback: dev is locked by deploy by alice@{socket.gethostname()} (pid {os.getppid()}) since "
        f"2026-01-01T00:00:00Z; wait for it to finish (if that process is gone for sure, remove {path})"
    )


def test_a_stale_lock_is_taken_over_and_released(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = locking.lock_path("dev", tmp_path)
    path.write_text(
        json.dumps(
            {
                "pid": 2**22 + 12345,
                "host": socket.gethostname(),
                "user": "bob",
                "verb": "deploy",
                "since": "x",
            }
        )
    )
    with locking.hold("dev", "deploy", tmp_path):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert "taking over the stale lock" in capsys.readouterr().err
    assert not path.exists()


# --- releases and the rollback choice ---------------------------------------------------------


def event(release: str, healthy: bool, action: str = "deploy") -> Event:
    return Event(release, action, "t", healthy)


def test_rollback_target_is_the_newest_healthy_other_release() -> None:
    events = [event("a", True), event("b", True), event("c", False)]
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="c") == "b"
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="b") == "a"
    # After a rollback to a, rolling back again goes to the release before a's latest apply.
    events += [event("a", True, "auto-rollback")]
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="a") == "b"
    assert releases.rollback_target(events, ["a", "b", "c"], away_from="a", to="c") == "c"


def test_rollback_target_errors() -> None:
    with pytest.raises(ValueError, match="no earlier release passed its health gate"):
        releases.rollback_target([event("a", False)], ["a"], away_from="a")
    with pytest.raises(ValueError, match="no release 'z'; recent: a"):
        releases.rollback_target([], ["a"], away_from=None, to="z")
    # A release whose files are gone is not a target.
    assert releases.rollback_target([event("gone", True), event("a", True)], ["a"], away_from="x") == "a"


def test_release_ids_sort_in_time_and_never_collide() -> None:
    from datetime import UTC, datetime

    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = releases.new_id("abc", [], stamp)
    assert first == "20260102T030405Z-abc"
    assert releases.new_id("abc", [first], stamp) == "20260102T030405Z-abc.2"


def test_releases_are_private_files(in_tmp: Path) -> None:
    release = releases.create(
        "dev",
        "compose",
        "abc",
        images={"mcp": "sha256:1"},
        sources={"mcp": "noa/mcp:abc"},
        rendered_text="services: {}\n",
    )
    directory = releases.release_dir("dev", release.id)
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct((directory / "release.json").stat().st_mode & 0o777) == "0o600"
    releases.finish(release, releases.HEALTHY)
    assert releases.load("dev", release.id).outcome == "healthy"
    with pytest.raises(Exit, match=f"no release 'nope' of dev; recent: {release.id}"):
        releases.load("dev", "nope")


def test_secrets_are_masked_in_both_yaml_and_list_forms() -> None:
    text = "  POSTGRES_PASSWORD: hunter2hunter2\n  - REDIS_PASSWORD=abc\n  LOG_LEVEL: info\n"
    masked = releases.mask_secrets(text, ["POSTGRES_PASSWORD", "REDIS_PASSWORD"])
    assert "hunter2" not in masked and "abc" not in masked and "LOG_LEVEL: info" in masked


# --- status ---------------------------------------------------------------------------------------


def test_status_describes_what_runs_and_since_when() -> None:
    assert status.describe("dev", "compose", [], {}).state == "never deployed"
    events = [
        Event("a", "deploy", "t1", True),
        Event("b", "deploy", "t2", False),
        Event("a", "auto-rollback", "t3", True),
    ]
    row = status.describe("dev", "compose", events, {"a": "abc"})
    assert (row.state, row.release, row.tag, row.action, row.since, row.passed_gate) == (
        "running",
        "a",
        "abc",
        "auto-rollback",
        "t3",
        True,
    )
    stopped = status.describe("dev", "compose", [*events, Event("", "stop", "t4", False)], {})
    assert (stopped.state, stopped.since) == ("stopped", "t4")


def test_status_task_json(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli.status(mock_context(), json=True)
    rows = json.loads(capsys.readouterr().out)
    assert [(row["environment"], row["target"], row["state"]) for row in rows] == [
        ("dev", "compose", "never deployed"),
        ("staging", "kubernetes", "never deployed"),
        ("prod", "kubernetes", "never deployed"),
    ]


# --- logs -----------------------------------------------------------------------------------------


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
    with pytest.raises(Exit, match="unknown level 'loud'; valid: debug, info, warning, error, critical"):
        service_logs.check_level("loud")
    with pytest.raises(Exit, match="is not a regular expression"):
        service_logs.compile_pattern("(")


def test_followed_lines_are_filtered_as_they_arrive() -> None:
    sink = io.StringIO()
    stream = service_logs.LineFilter(
        service_logs.parse_compose_line, service_logs.check_level("error"), None, 5, sink
    )
    stream.write('mcp-1  | 2026-01-01T00:00:01Z {"level":"error","msg":"a"}\nmcp-1  | 2026-01-01T00:0')
    stream.write('0:02Z {"level":"info","msg":"b"}\nui-1  | 2026-01-01T00:00:03Z {"level":"critical"}\n')
    assert sink.getvalue() == 'mcp   | {"level":"error","msg":"a"}\nui    | {"level":"critical"}\n'


def test_compose_logs_commands(dev: Environment) -> None:
    assert compose.service_logs(dev, "mcp", tail=20, since="10m") == (
        f"{BASE} logs --no-color --no-log-prefix --timestamps --tail 20 --since 10m mcp"
    )
    assert compose.follow_logs(dev, ["mcp", "ui"], tail=-1) == (
        f"{BASE} logs --no-color --timestamps --follow --tail all mcp ui"
    )


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


# --- push -----------------------------------------------------------------------------------------

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("value", ["http://127.0.0.1:5000", "", "bad host/x"])
def test_registry_must_be_host_port_path(value: str) -> None:
    with pytest.raises(Exit):
        image_registry.validate_registry(value)


def test_registry_accepts_host_port_and_path() -> None:
    assert image_registry.validate_registry("127.0.0.1:5000/noa/") == "127.0.0.1:5000/noa"


def test_push_retries_then_records_the_digest(in_tmp: Path, dev: Environment) -> None:
    push = "docker push 127.0.0.1:5000/noa/mcp:abc"
    c = mock_context(
        {
            "docker image inspect --format '{{.Id}}' noa/mcp:abc": Result("sha256:1\n"),
            "docker tag noa/mcp:abc 127.0.0.1:5000/noa/mcp:abc": Result(""),
            push: [
                Result(stderr="connection refused", exited=1),
                Result(f"abc: digest: {DIGEST} size: 1234\n"),
            ],
        }
    )
    naps: list[float] = []
    pushed = image_registry.push(c, dev, ["mcp"], "abc", registry="127.0.0.1:5000/noa", sleep=naps.append)
    assert pushed == {"mcp": f"127.0.0.1:5000/noa/mcp@{DIGEST}"}
    assert naps == [image_registry.BACKOFF]
    assert images.load_record("abc")["pushed"]["127.0.0.1:5000/noa"]["mcp"] == pushed["mcp"]
    assert [call.args[0] for call in runs(c).call_args_list].count(push) == 2


def test_push_gives_up_naming_the_image(in_tmp: Path, dev: Environment) -> None:
    c = mock_context(
        {
            "docker image inspect --format '{{.Id}}' noa/mcp:abc": Result("sha256:1\n"),
            "docker tag noa/mcp:abc r.example/mcp:abc": Result(""),
            "docker push r.example/mcp:abc": Result(
                stderr="denied: requested access to the resource is denied", exited=1
            ),
        }
    )
    with pytest.raises(Exit, match=r"push: r.example/mcp:abc failed 3 times \(denied: requested access"):
        image_registry.push(c, dev, ["mcp"], "abc", registry="r.example", sleep=lambda _: None)


def test_push_of_unbuilt_images_says_build_first(in_tmp: Path, dev: Environment) -> None:
    c = mock_context({"docker image inspect --format '{{.Id}}' noa/ui:abc": Result(exited=1)})
    with pytest.raises(Exit, match="no image for tag abc of ui: run `invoke build` first"):
        image_registry.push(c, dev, ["ui"], "abc", registry="r.example")


# --- stop -----------------------------------------------------------------------------------------


def test_compose_purge_lists_volumes_and_needs_yes(in_tmp: Path, dev: Environment) -> None:
    from noa_ops import envfile

    envfile.write(in_tmp / ".noa" / "dev.env", "dev")

    def answers() -> dict[str, Result]:
        return {
            "docker info --format '{{.ServerVersion}}'": Result("20.10\n"),
            "docker compose version --short": Result("2.40.3\n"),
            compose.volumes(dev): Result("noa-dev_postgres-data\nnoa-dev_redis-data\n"),
            f"{BASE} down --remove-orphans --volumes": Result(""),
        }

    c = mock_context(answers())
    with pytest.raises(Exit, match=r"--purge --yes to confirm \(nothing was changed\)"):
        cli.stop(c, env="dev", purge=True)
    assert f"{BASE} down --remove-orphans --volumes" not in [call.args[0] for call in runs(c).call_args_list]
    c = mock_context(answers())
    cli.stop(c, env="dev", purge=True, yes=True)
    assert runs(c).call_args_list[-1].args[0] == f"{BASE} down --remove-orphans --volumes"
    with pytest.raises(Exit, match="--yes confirms --purge"):
        cli.stop(mock_context(), env="dev", yes=True)
