"""Image tags, service selection and the build commands."""

from __future__ import annotations

import sys
from unittest.mock import call

import pytest
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import catalogue, cli, images, models
from noa_ops.environments import Environment
from noa_ops.errors import NoaError

from .helpers import mock_context, runs

REVISION = "git rev-parse --short=12 HEAD"
STATUS = "git status --porcelain"
INSIDE = "git rev-parse --is-inside-work-tree"
BASE = "docker compose -p noa-dev -f docker/docker-compose.yml --env-file .noa/dev.env --profile monitoring"
VERSION = "docker version --format '{{.Server.Version}} {{.Server.Os}}'"
INSPECT_ID = "docker image inspect --format '{{.Id}}' "


def test_tag_is_the_revision_with_dirty_suffix() -> None:
    assert images.image_tag("1a2b3c4d5e6f", dirty=False) == "1a2b3c4d5e6f"
    assert images.image_tag("1a2b3c4d5e6f", dirty=True) == "1a2b3c4d5e6f-dirty"


def test_dirty_tags_are_recognised() -> None:
    assert images.is_dirty("abc-dirty")
    assert not images.is_dirty("abc")


def test_current_tag_of_a_clean_tree() -> None:
    c = mock_context({REVISION: Result("1a2b3c4d5e6f\n"), STATUS: Result("")})
    assert images.current_tag(c) == "1a2b3c4d5e6f"


def test_current_tag_of_a_dirty_tree() -> None:
    c = mock_context({REVISION: Result("1a2b3c4d5e6f\n"), STATUS: Result(" M tasks.py\n?? new.py\n")})
    assert images.current_tag(c) == "1a2b3c4d5e6f-dirty"


def test_a_repository_without_commits_still_tags() -> None:
    c = mock_context({REVISION: Result(exited=128), INSIDE: Result("true\n"), STATUS: Result("A  x\n")})
    assert images.current_tag(c) == "0000000-dirty"


def test_outside_git_is_a_one_line_error() -> None:
    c = mock_context({REVISION: Result(exited=128), INSIDE: Result(exited=128)})
    with pytest.raises(NoaError, match="not a git checkout"):
        images.current_tag(c)


def test_no_service_means_the_whole_stack_in_dependency_order() -> None:
    assert images.select_services([]) == [
        "postgres", "redis", "mcp", "claude-flow", "agenticos", "llama", "ui"
    ]


def test_services_are_deduplicated_and_ordered() -> None:
    assert images.select_services(["ui", "mcp", "ui"]) == ["mcp", "ui"]


def test_unknown_service_lists_valid_ones() -> None:
    with pytest.raises(NoaError) as raised:
        images.select_services(["mcp", "nginx"])
    assert raised.value.message == (
        "unknown service nginx; valid: postgres, redis, mcp, claude-flow, agenticos, llama, ui, "
        "postgres-exporter, redis-exporter, alertmanager, prometheus"
    )


def test_the_monitoring_profile_s_services_are_named_but_not_chosen_by_default() -> None:
    """`invoke logs --service prometheus` reads the profile's; without --service, the stack."""
    assert images.select_services(["prometheus", "mcp"]) == ["mcp", "prometheus"]
    assert images.select_services([]) == catalogue.names()


def test_build_task_validates_services_before_running_anything() -> None:
    c = mock_context()
    with pytest.raises(Exit, match="unknown service"):
        cli.build(c, env="dev", service=["nope"])
    runs(c).assert_not_called()


def test_build_fills_the_wheelhouse_then_builds_with_the_tag(dev: Environment) -> None:
    c = mock_context({"scripts/build-wheelhouse": Result(""), VERSION: Result("20.10.24 linux\n"),
                      f"{BASE} build mcp ui": Result("")})
    images.build(c, dev, ["mcp", "ui"], "abc")
    assert runs(c).call_args_list == [
        call("scripts/build-wheelhouse", warn=True, env={"PYTHON": sys.executable}, echo=True),
        call(VERSION, warn=True, hide=True),
        call(
            f"{BASE} build mcp ui",
            warn=True,
            env={"NOA_IMAGE_PREFIX": "noa", "NOA_IMAGE_TAG": "abc", "COMPOSE_BAKE": "false",
                 "DOCKER_BUILDKIT": "1"},
            echo=True,
        ),
    ]

def test_the_monitoring_profile_s_images_build_with_compose_like_the_stack_s(dev: Environment) -> None:
    """prometheus is a compose service (of a profile), not an extra image of its own build."""
    c = mock_context({"scripts/build-wheelhouse": Result(""), VERSION: Result("20.10.24 linux\n"),
                      f"{BASE} build mcp prometheus": Result("")})
    images.build(c, dev, ["mcp", "prometheus"], "abc")
    assert [args[0] for args, _ in runs(c).call_args_list][-1] == f"{BASE} build mcp prometheus"



@pytest.mark.parametrize(
    ("version", "server_os", "buildkit"),
    [("20.10.24+dfsg1", "linux", True), ("18.09.0", "linux", True), ("18.06.3-ce", "linux", False),
     ("28.2.2", "windows", False), ("", "", False)],
)
def test_buildkit_when_the_engine_offers_it(version: str, server_os: str, buildkit: bool) -> None:
    assert images.supports_buildkit(version, server_os) is buildkit


def test_the_classic_builder_for_an_old_engine() -> None:
    c = mock_context({VERSION: Result("17.12.1-ce linux\n")})
    assert images.builder_variables(c) == {"DOCKER_BUILDKIT": "0"}


def test_build_records_image_ids(dev: Environment, in_tmp: object) -> None:
    c = mock_context({f"{INSPECT_ID}noa/mcp:abc": Result("sha256:1\n")})
    assert images.record_build(c, dev, ["mcp"], "abc") == {"mcp": "sha256:1"}
    assert images.load_record("abc")["images"]["mcp"]["id"] == "sha256:1"
    c = mock_context({f"{INSPECT_ID}noa/ui:abc": Result(exited=1)})
    with pytest.raises(NoaError, match="noa/ui:abc is missing after the build"):
        images.record_build(c, dev, ["ui"], "abc")


def test_a_failed_build_is_one_line(dev: Environment) -> None:
    c = mock_context({"scripts/build-wheelhouse": Result(""), f"{BASE} build mcp": Result(exited=17),
                      VERSION: Result("20.10.24 linux\n")})
    with pytest.raises(NoaError) as raised:
        images.build(c, dev, ["mcp"], "abc")
    assert raised.value.message == f"docker compose build failed (exit 17): {BASE} build mcp"


def test_missing_images_are_found_by_name(dev: Environment) -> None:
    inspect = "docker image inspect --format '{{.Id}}' "
    c = mock_context({
        f"{inspect}noa/mcp:abc": Result("sha256:1\n"),
        f"{inspect}noa/ui:abc": Result(exited=1),
    })
    assert images.missing_images(c, dev, ["mcp", "ui"], "abc") == ["ui"]


def test_the_exporters_are_built_only_when_named_and_with_compose(dev: Environment) -> None:
    """The monitoring component's sidecars: compose services of the monitoring profile, so compose
    builds them, but the stack's deploys need them not, so a bare `invoke build` leaves them out."""
    assert images.select_images([]) == catalogue.names()
    assert images.select_images(["redis-exporter", "postgres-exporter", "mcp"]) == [
        "mcp", "postgres-exporter", "redis-exporter"]
    build = f"{BASE} build postgres-exporter redis-exporter"
    c = mock_context({"scripts/build-wheelhouse": Result(""), VERSION: Result("20.10.24 linux\n"),
                      build: Result("")})
    images.build(c, dev, ["postgres-exporter", "redis-exporter"], "abc")
    assert [args[0] for args, _ in runs(c).call_args_list][-1] == build


def test_llama_cuda_is_built_only_when_named_and_by_its_dockerfile_target(
    dev: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "llama-cuda" not in images.select_images([])
    assert images.select_images(["llama-cuda", "mcp"]) == ["mcp", "llama-cuda"]
    with pytest.raises(NoaError, match=r"unknown service llama-cud; valid: .*, llama-cuda$"):
        images.select_images(["llama-cud"])
    cuda = ("docker build --file docker/Dockerfile --target llama-cuda --tag noa/llama-cuda:abc "
            "--build-arg NOA_VERSION=abc .")
    c = mock_context({"scripts/build-wheelhouse": Result(""), "scripts/fetch-llama-source": Result(""),
                      VERSION: Result("20.10.24 linux\n"), cuda: Result("")})
    fetched: list[object] = []
    monkeypatch.setattr(models, "fetch_default", lambda *args, **kwargs: fetched.append(args))
    images.build(c, dev, ["llama-cuda"], "abc")
    ran = [args[0] for args, _ in runs(c).call_args_list]
    assert ran == ["scripts/build-wheelhouse", "scripts/fetch-llama-source", VERSION, cuda]
    assert fetched, "llama-cuda serves llama's model: the build fetches it like llama's"
