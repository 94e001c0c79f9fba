"""The steps of `nox -s validate` (noa_ops/validation.py) and the two checks that became commands of
their own (noa_ops/compose_check.py, noa_ops/monitoring_check.py), without docker or promtool."""

from __future__ import annotations

from pathlib import Path

import pytest

from noa_ops import compose_check, monitoring_check, validation

from .helpers import REPO


def test_the_steps_run_in_order_and_checkov_last_in_its_own_venv() -> None:
    names = [step.name for step in validation.steps()]
    assert names == ["yamllint", "hadolint", "shellcheck", "compose config", "promtool/amtool", "render",
                     "schema", "policy", "checkov"]
    assert [step.name for step in validation.steps() if step.session != "validate"] == ["checkov"]


def test_the_render_steps_share_one_directory() -> None:
    """schema, policy and checkov read what render wrote."""
    render_dir = validation.RENDER_DIR
    assert validation.step("render").argv[-1] == render_dir
    assert validation.step("schema").argv[-1] == render_dir
    assert validation.step("policy").env == {"NOA_K8S_RENDER": render_dir}
    assert validation.step("checkov").argv[-1] == render_dir


def test_shellcheck_gets_every_shell_script_by_shebang(tmp_path: Path) -> None:
    for folder in ("scripts", ".ci", "docker/sub"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "scripts" / "a").write_text("#!/usr/bin/env bash\n")
    (tmp_path / "scripts" / "notes.txt").write_text("not a script\n")
    (tmp_path / ".ci" / "run").write_text("#!/bin/sh\n")
    (tmp_path / "docker" / "sub" / "entry").write_text("#!/bin/dash\n")
    (tmp_path / "docker" / "tool.py").write_text("#!/usr/bin/env python3\n")
    assert validation.every_shell_script(tmp_path) == ["scripts/a", ".ci/run", "docker/sub/entry"]
    real = validation.step("shellcheck").argv
    assert "scripts/bootstrap" in real and ".ci/run" in real


def test_the_compose_env_gives_every_required_variable_a_random_value(tmp_path: Path) -> None:
    required = compose_check.required_variables(compose_check.COMPOSE_FILES)
    assert "POSTGRES_PASSWORD" in required and required == sorted(set(required))
    first = compose_check.throwaway_env(tmp_path).read_text().splitlines()
    second = compose_check.throwaway_env(tmp_path).read_text().splitlines()
    assert [line.split("=")[0] for line in first] == required
    assert all(len(line.split("=")[1]) == 48 for line in first) and first != second


def test_compose_config_runs_the_file_then_it_with_the_hot_reload_file() -> None:
    first, second = compose_check.commands(Path("/tmp/c.env"))
    assert first == ["docker", "compose", "-p", "noa-validate", "-f", "docker/docker-compose.yml",
                     "--env-file", "/tmp/c.env", "config", "-q"]
    assert second[4:8] == ["-f", "docker/docker-compose.yml", "-f", "docker/docker-compose.dev.yml"]


def test_the_monitoring_copy_points_credentials_files_at_placeholders(tmp_path: Path) -> None:
    config = monitoring_check.monitoring_copy(tmp_path).read_text()
    files = [line.split(":", 1)[1].strip() for line in config.splitlines()
             if line.strip().startswith("credentials_file:")]
    assert files and all(Path(name).is_file() and name.startswith(str(tmp_path)) for name in files)


def test_the_seeded_rule_waits_4_minutes_in_a_copy_only(tmp_path: Path) -> None:
    tests = monitoring_check.seeded_copy(tmp_path)
    assert tests == tmp_path / monitoring_check.ALERT_TESTS
    seeded = (tmp_path / monitoring_check.ALERT_RULES).read_text()
    assert monitoring_check.SEEDED_RULE.replace("5m", "4m") in seeded
    assert monitoring_check.SEEDED_RULE in (REPO / monitoring_check.ALERT_RULES).read_text()


def test_a_rule_written_otherwise_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for name in (monitoring_check.ALERT_RULES, monitoring_check.ALERT_TESTS):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("groups: []\n")
    with pytest.raises(monitoring_check.CheckError, match="needs TargetDown's rule as written here"):
        monitoring_check.seeded_copy(tmp_path / "copy", root)


def _tool(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(("seeded", "expected"), [
    ('echo "alertname: TargetDown"; exit 1', None),
    ("exit 0", "did not fail the seeded defect"),
    ('echo "alertname: Other"; exit 1', "did not fail the seeded defect"),
])
def test_the_seeded_defect_must_fail_the_alert_tests(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], seeded: str, expected: str | None) -> None:
    """A stand-in promtool that passes every check and does `seeded` on the broken copy's tests."""
    promtool = _tool(tmp_path, "promtool", f'case "$3" in */broken/*) {seeded};; esac\nexit 0')
    amtool = _tool(tmp_path, "amtool", "exit 0")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    if expected is None:
        monitoring_check.run_checks(promtool, amtool, scratch)
        assert capfd.readouterr().out.endswith("failed the seeded defect (TargetDown after 4 minutes)\n")
    else:
        with pytest.raises(monitoring_check.CheckError, match=expected):
            monitoring_check.run_checks(promtool, amtool, scratch)


def test_a_failing_check_is_named(tmp_path: Path) -> None:
    promtool = _tool(tmp_path, "promtool", '[ "$1" = check ] && [ "$2" = rules ] && exit 3\nexit 0')
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(monitoring_check.CheckError,
                       match=r"^promtool check rules docker/monitoring/alert-rules.yml failed \(exit 3\)$"):
        monitoring_check.run_checks(promtool, _tool(tmp_path, "amtool", "exit 0"), scratch)


def test_the_checks_take_no_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert compose_check.main(["x"]) == 2 and monitoring_check.main(["x"]) == 2
    assert capsys.readouterr().err.count("usage: python -m noa_ops.") == 2


class _Session:
    """What the validate sessions call on nox's Session, recorded."""

    def __init__(self, posargs: list[str]) -> None:
        self.posargs = posargs
        self.runs: list[tuple[tuple[str, ...], dict[str, str] | None]] = []
        self.notified: list[tuple[str, list[str] | None]] = []

    def install(self, *args: str) -> None:
        del args

    def run(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.runs.append((args, env))

    def notify(self, target: str, posargs: list[str] | None = None) -> None:
        self.notified.append((target, posargs))


def test_the_validate_sessions_run_the_listed_steps_and_render_once() -> None:
    import noxfile

    session = _Session(["-k", "probes"])
    noxfile.validate(session)
    listed = [step for step in validation.steps() if step.session == "validate"]
    assert [argv for argv, _ in session.runs] == [
        (*step.argv, *(("-k", "probes") if step.name == "policy" else ())) for step in listed]
    assert [env for _, env in session.runs] == [dict(step.env) for step in listed]
    [(target, posargs)] = session.notified
    checkov = _Session(posargs or [])
    noxfile.validate_checkov(checkov)
    render, scan = validation.step("render").argv, validation.step("checkov").argv
    assert target == "validate-checkov" and [argv for argv, _ in checkov.runs] == [scan]
    alone = _Session([])
    noxfile.validate_checkov(alone)
    assert [argv for argv, _ in alone.runs] == [render, scan]
