"""The exact docker compose command lines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from noa_ops import compose_commands as compose
from noa_ops.environments import Environment

RENDER = "docker compose -p noa-dev -f docker/docker-compose.yml --env-file .noa/dev.env"
BASE = f"{RENDER} --profile monitoring"


def test_base_names_project_file_env_file_and_every_profile(dev: Environment) -> None:
    """Every profile, so down, ps, logs, stop and start reach the monitoring profile's containers
    (compose leaves those of a profile it is not told of alone)."""
    assert compose.base(dev) == BASE


def test_config_renders_only_the_profiles_asked_for(dev: Environment) -> None:
    assert compose.config(dev) == f"{RENDER} config"
    assert compose.config(dev, profiles=("monitoring",)) == f"{BASE} config"


def test_hot_reload_adds_the_dev_file_after_the_main_one(dev: Environment) -> None:
    assert compose.base(dev, hot_reload=True, profiles=()) == (
        "docker compose -p noa-dev -f docker/docker-compose.yml -f docker/docker-compose.dev.yml "
        "--env-file .noa/dev.env"
    )


def test_paths_are_shell_quoted(dev: Environment) -> None:
    spaced = replace(dev, env_file=Path("my secrets/dev.env"))
    assert compose.base(spaced, profiles=()).endswith("--env-file 'my secrets/dev.env'")


def test_down_keeps_volumes(dev: Environment) -> None:
    assert compose.down(dev) == f"{BASE} down --remove-orphans"
    assert "-v" not in compose.down(dev).split()


def test_build_ps_and_logs(dev: Environment) -> None:
    assert compose.build(dev, ["mcp", "ui"]) == f"{BASE} build mcp ui"
    assert compose.build(dev, []) == f"{BASE} build"
    assert compose.build(dev, ["mcp"], no_cache=True) == f"{BASE} build --no-cache mcp"
    assert compose.ps(dev) == f"{BASE} ps --all --format json"
    assert compose.logs(dev, ["mcp"]) == f"{BASE} logs --no-color --tail 40 mcp"


def test_image_variables(dev: Environment) -> None:
    expected = {"NOA_IMAGE_PREFIX": "noa", "NOA_IMAGE_TAG": "abc-dirty"}
    assert compose.image_variables(dev, "abc-dirty") == expected


def test_compose_logs_commands(dev: Environment) -> None:
    assert compose.service_logs(dev, "mcp", tail=20, since="10m") == (
        f"{BASE} logs --no-color --no-log-prefix --timestamps --tail 20 --since 10m mcp"
    )
    assert compose.follow_logs(dev, ["mcp", "ui"], tail=-1) == (
        f"{BASE} logs --no-color --timestamps --follow --tail all mcp ui"
    )
