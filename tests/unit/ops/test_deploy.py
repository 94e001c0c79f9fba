"""Deploy, stop and health as command sequences (MockContext) with a fake HTTP layer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import catalogue, cli, envfile, health

from .conftest import mock_context, runs

BASE = "docker compose -p noa-dev -f docker/docker-compose.yml --env-file .noa/dev.env"
TAG = "1a2b3c4d5e6f"
INSPECT = "docker image inspect --format '{{.Id}}' "
UP = f"{BASE} up -d --wait --wait-timeout 600 --no-build --pull never"
PS = f"{BASE} ps --all --format json"
STACK = [service.name for service in catalogue.stack_services()]
IMAGE_ENV = {"NOA_IMAGE_PREFIX": "noa", "NOA_IMAGE_TAG": TAG}


def ps_output(unhealthy: str = "") -> str:
    rows = ({"Service": name, "State": "running", "Health": "unhealthy" if name == unhealthy else "healthy"}
            for name in STACK)
    return "\n".join(json.dumps(row) for row in rows)


def responses(*, missing: tuple[str, ...] = (), up_exit: int = 0, unhealthy: str = "") -> dict[str, Any]:
    answers: dict[str, Any] = {
        "docker info --format '{{.ServerVersion}}'": Result("20.10.24\n"),
        "docker compose version --short": Result("2.40.3\n"),
        "git rev-parse --short=12 HEAD": Result(f"{TAG}\n"),
        "git status --porcelain": Result(""),
        "scripts/build-wheelhouse": Result(""),
        UP: Result(exited=up_exit),
        PS: Result(ps_output(unhealthy)),
    }
    for name in STACK:
        answers[f"{INSPECT}noa/{name}:{TAG}"] = Result(exited=1) if name in missing else Result("sha256:x\n")
    if missing:
        answers[f"{BASE} build {' '.join(missing)}"] = Result("")
    return answers


def commands(c: MockContext) -> list[str]:
    return [args[0] for args, _ in runs(c).call_args_list]


@pytest.fixture(autouse=True)
def http_all_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "fetch", lambda url, timeout: (200, b"{}"))


def test_deploy_of_present_images_creates_env_file_and_waits(in_tmp: Path) -> None:
    c = mock_context(responses())
    cli.deploy(c, env="dev")
    assert commands(c) == [
        "docker info --format '{{.ServerVersion}}'",
        "docker compose version --short",
        "git rev-parse --short=12 HEAD",
        "git status --porcelain",
        *(f"{INSPECT}noa/{name}:{TAG}" for name in STACK),
        UP,
        PS,
    ]
    runs(c).assert_any_call(UP, warn=True, env=IMAGE_ENV, echo=True)
    env_file = in_tmp / ".noa" / "dev.env"
    assert envfile.missing_secrets(env_file) == []


def test_deploy_builds_only_missing_images(in_tmp: Path) -> None:
    c = mock_context(responses(missing=("mcp", "ui")))
    cli.deploy(c, env="dev")
    ran = commands(c)
    assert ran.index("scripts/build-wheelhouse") < ran.index(f"{BASE} build mcp ui") < ran.index(UP)
    build_env = IMAGE_ENV | {"COMPOSE_BAKE": "false"}
    runs(c).assert_any_call(f"{BASE} build mcp ui", warn=True, env=build_env, echo=True)


def test_deploy_of_a_dirty_tree_always_rebuilds_the_whole_stack(in_tmp: Path) -> None:
    dirty_up = UP  # the command line is the same; the tag travels in the environment
    c = mock_context(responses() | {
        "git status --porcelain": Result(" M services/noa_mcp/app.py\n"),
        f"{BASE} build {' '.join(STACK)}": Result(""),
        dirty_up: Result(""),
    })
    cli.deploy(c, env="dev")
    ran = commands(c)
    assert not any(command.startswith(INSPECT) for command in ran)
    assert f"{BASE} build {' '.join(STACK)}" in ran
    runs(c).assert_any_call(UP, warn=True, env=IMAGE_ENV | {"NOA_IMAGE_TAG": f"{TAG}-dirty"}, echo=True)


def test_deploy_with_hot_reload_and_timeout(in_tmp: Path) -> None:
    hot_up = (f"{BASE.replace('--env-file', '-f docker/docker-compose.dev.yml --env-file')} "
              "up -d --wait --wait-timeout 90 --no-build --pull never")
    c = mock_context(responses() | {hot_up: Result("")})
    cli.deploy(c, env="dev", hot_reload=True, timeout=90)
    assert hot_up in commands(c)


def test_unhealthy_deploy_names_services_and_shows_their_logs(in_tmp: Path) -> None:
    logs = f"{BASE} logs --no-color --tail 40 redis"
    c = mock_context(responses(up_exit=1, unhealthy="redis") | {logs: Result("redis log\n")})
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="dev")
    message = raised.value.message or ""
    assert message.startswith("deploy: dev is unhealthy: redis ")
    assert "\n" not in message
    assert commands(c)[-1] == logs
    # A failed `up` gets one probe, not the whole health budget.
    assert commands(c).count(PS) == 1


def test_deploy_without_an_engine_is_one_line(in_tmp: Path) -> None:
    c = mock_context({"docker info --format '{{.ServerVersion}}'": Result(exited=1)})
    with pytest.raises(Exit, match="no Docker engine answers: start one with scripts/start-engine"):
        cli.deploy(c, env="dev")


def test_deploy_refuses_an_env_file_without_secrets(in_tmp: Path) -> None:
    (in_tmp / ".noa").mkdir()
    (in_tmp / ".noa" / "dev.env").write_text("POSTGRES_PASSWORD=x\n")
    c = mock_context(responses())
    with pytest.raises(Exit, match="lacks REDIS_PASSWORD"):
        cli.deploy(c, env="dev")


def test_negative_timeout_is_refused() -> None:
    c = mock_context()
    with pytest.raises(Exit, match="--timeout"):
        cli.deploy(c, env="dev", timeout=-5)
    runs(c).assert_not_called()


def test_stop_is_down_without_volumes(in_tmp: Path) -> None:
    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    c = mock_context(responses() | {f"{BASE} down --remove-orphans": Result("")})
    cli.stop(c, env="dev")
    assert commands(c)[-1] == f"{BASE} down --remove-orphans"
    runs(c).assert_called_with(f"{BASE} down --remove-orphans", warn=True, echo=True)


def test_stop_without_env_file_says_nothing_was_deployed(in_tmp: Path) -> None:
    c = mock_context(responses())
    with pytest.raises(Exit, match="never deployed"):
        cli.stop(c, env="dev")


def test_health_json_and_exit_code(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    cli.health(mock_context(responses()), env="dev", json=True)
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert {check["service"] for check in report["checks"]} == set(STACK)

    with pytest.raises(Exit, match="health: dev is unhealthy: postgres"):
        cli.health(mock_context(responses(unhealthy="postgres")), env="dev", json=True)
    assert json.loads(capsys.readouterr().out)["unhealthy"] == ["postgres"]


def test_health_table_for_people(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    cli.health(mock_context(responses()), env="dev")
    shown = capsys.readouterr().out
    assert "all services healthy" in shown
    for name in STACK:
        assert name in shown
