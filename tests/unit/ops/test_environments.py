"""Environment selection: unknown names are refused before anything runs."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from invoke.exceptions import Exit
from invoke.runners import Result

from noa_ops import cli, config_file, environments, paths
from noa_ops.errors import NoaError

from .helpers import REPO, mock_context, project_config, runs

VERBS: dict[str, Callable[..., Any]] = {
    "build": cli.build,
    "push": cli.push,
    "deploy": cli.deploy,
    "dry-run": functools.partial(cli.deploy, dry_run=True),
    "rollback": cli.rollback,
    "health": cli.health,
    "logs": cli.logs,
    "stop": cli.stop,
    "status": cli.status,
    "env-init": cli.env_init,
    "env-check": cli.env_check,
    "db-backup": cli.db_backup,
    "db-restore": functools.partial(cli.db_restore, from_="noa-staging-20261203T000000Z.json"),
}


def test_invoke_yaml_defines_dev_staging_prod() -> None:
    assert list(project_config()["noa"]["environments"]) == ["dev", "staging", "prod"]


def test_dev_is_the_local_compose_stack() -> None:
    dev = environments.select(mock_context(), "dev")
    assert dev.target == "compose"
    assert dev.project == "noa-dev"
    assert paths.shown(dev.env_file) == ".noa/dev.env"
    assert dev.image_prefix == "noa"
    assert dev.deploy_timeout == 600
    assert dev.health_timeout > 0


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_target_kubernetes(name: str) -> None:
    assert environments.select(mock_context(), name).target == "kubernetes"


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_unknown_environment_is_one_line_listing_valid_ones_and_runs_nothing(verb: str) -> None:
    c = mock_context()
    with pytest.raises(Exit) as raised:
        VERBS[verb](c, env="nope")
    message = raised.value.message or ""
    assert message == "unknown environment 'nope'; valid: dev, staging, prod"
    assert raised.value.code != 0
    runs(c).assert_not_called()


@pytest.mark.parametrize("verb", ["deploy", "stop", "rollback", "health", "logs", "dry-run", "db-backup",
                                  "db-restore"])
@pytest.mark.parametrize("current", ["kind-noa-dev", "noa-{name}-old", "old-noa-{name}"])
@pytest.mark.parametrize("name", ["staging", "prod"])
def test_kubernetes_verbs_refuse_another_kube_context(verb: str, current: str, name: str) -> None:
    """staging and prod default to kubernetes; every verb that reads or changes the cluster checks the
    current context before anything else, matched exactly: one that merely contains the right name
    is another cluster's."""
    current = current.format(name=name)
    c = mock_context({"kubectl config current-context": Result(f"{current}\n")})
    with pytest.raises(Exit) as raised:
        VERBS[verb](c, env=name)
    message = raised.value.message or ""
    assert "\n" not in message
    assert f"the current kube context is {current}, but {name} may only use noa-{name}" in message
    assert f"kubectl config use-context noa-{name}" in message
    assert [call.args[0] for call in runs(c).call_args_list] == ["kubectl config current-context"]


def test_target_override_and_unknown_target() -> None:
    assert environments.select(mock_context(), "dev", "kubernetes").target == "kubernetes"
    assert environments.select(mock_context(), "prod", "compose").target == "compose"
    c = mock_context()
    with pytest.raises(Exit) as raised:
        cli.deploy(c, env="dev", target="swarm")
    assert raised.value.message == "unknown target 'swarm'; valid: compose, kubernetes"
    runs(c).assert_not_called()


def test_kubernetes_settings_come_from_invoke_yaml() -> None:
    prod = environments.select(mock_context(), "prod")
    assert (prod.kube_context, prod.kube_namespace, prod.kube_variant) == (
        "noa-prod", "noa-server-prod", "prod-external-secrets")
    assert environments.select(mock_context(), "dev").registry == "127.0.0.1:5055/noa"


def valid_settings() -> dict[str, Any]:
    return dict(project_config()["noa"]["environments"]["dev"])


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("target", "swarm", "valid: compose, kubernetes"),
        ("deploy_timeout", -1, "positive number of seconds"),
        ("health_timeout", "soon", "positive number of seconds"),
        ("deploy_timeout", True, "positive number of seconds"),
        ("project", "", "non-empty string"),
        ("kube_variant", ["dev"], "kube_variant must be a string"),
        # Near misses: the overlay alone (no Secret), a name that merely contains a variant's.
        ("kube_variant", "staging", r"kube_variant is 'staging', not a folder of k8s/variants; valid: dev, "),
        ("kube_variant", "staging-external-secrets-old", "'staging-external-secrets-old', not a folder"),
        ("kube_variant", "staging+external-secrets", "not a folder of k8s/variants"),
        ("port_offset", -1, "port_offset must be a whole number from 0 to 50000"),
        ("port_offset", 50001, "port_offset must be a whole number from 0 to 50000"),  # 59401 would fit;
        ("port_offset", "20000", "port_offset must be a whole number"),  # the bound is the rule
        ("port_offset", True, "port_offset must be a whole number"),
        # Namespaces: spelt almost as Kubernetes allows.
        ("namespace", "Noa-Server-Dev", "namespace is 'Noa-Server-Dev': a namespace is a DNS label"),
        ("namespace", "noa_server_dev", "a namespace is a DNS label"),
        ("namespace", "noa-server-dev-", "a namespace is a DNS label"),
        ("namespace", "n" * 64, "at most 63"),
        # Profiles: named exactly, as a list.
        ("profiles", ["Monitoring"], r"profiles: no compose profile Monitoring; valid: monitoring"),
        ("profiles", ["monitoring", "metrics"], "no compose profile metrics"),
        ("profiles", "monitoring", "profiles must be a list of compose profiles"),
    ],
)
def test_bad_settings_are_one_line(key: str, value: Any, expected: str) -> None:
    settings = valid_settings() | {key: value}
    with pytest.raises(NoaError, match=expected):
        environments.parse_environment("dev", settings)


def test_port_offset_moves_every_published_port_and_defaults_to_none() -> None:
    assert environments.parse_environment("dev", valid_settings()).host_port(8001) == 8001
    moved = environments.parse_environment("dev", valid_settings() | {"port_offset": 50000})
    assert (moved.port_offset, moved.host_port(9400)) == (50000, 59400)


def test_profiles_default_to_none_and_name_the_monitoring_one() -> None:
    assert environments.parse_environment("dev", valid_settings()).profiles == ()
    twice = valid_settings() | {"profiles": ["monitoring", "monitoring"]}
    chosen = environments.parse_environment("dev", twice)
    assert chosen.profiles == ("monitoring",)


def test_a_namespace_of_63_characters_is_one() -> None:
    named = environments.parse_environment("dev", valid_settings() | {"namespace": "n" * 63})
    assert named.kube_namespace == "n" * 63
    assert environments.parse_environment("dev", valid_settings()).kube_namespace == "noa-server-dev"


def test_missing_settings_are_named() -> None:
    settings = valid_settings()
    del settings["project"]
    with pytest.raises(NoaError, match="lacks project"):
        environments.parse_environment("dev", settings)


def test_no_environments_configured_is_one_line() -> None:
    from invoke.config import Config
    from invoke.context import MockContext

    with pytest.raises(NoaError, match=r"noa\.environments"):
        environments.select(MockContext(config=Config()), "dev")


def test_the_real_cli_refuses_an_unknown_environment_without_a_traceback() -> None:
    """Through invoke itself: tasks.py, invoke.yaml and the exit code, as an operator sees it."""
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "deploy", "--env", "nope"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "unknown environment 'nope'; valid: dev, staging, prod"
    assert result.stdout == ""


def broken_checkout(tmp_path: Path, config: str) -> Path:
    """tasks.py beside an invoke.yaml of our choosing; the code itself from this checkout."""
    for name in ("noa_ops", "services", "k8s", "docker", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    shutil.copy(REPO / "tasks.py", tmp_path / "tasks.py")
    (tmp_path / "invoke.yaml").write_text(config)
    return tmp_path


def run_invoke(where: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", *words], cwd=where, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize(("config", "expected"), [
    ("noa:\n  environments:\n    dev: [\n",
     "invoke.yaml is not valid YAML (line 4, column 1): expected the node content, but found '<stream end>'; "
     "fix it, then retry"),
    ("noa:\n\tenvironments: {}\n", "invoke.yaml is not valid YAML (line 2, column 1): found character '\\t' "
     "that cannot start any token; fix it, then retry"),
])
def test_a_broken_invoke_yaml_is_one_line_not_a_traceback(tmp_path: Path, config: str, expected: str) -> None:
    result = run_invoke(broken_checkout(tmp_path, config), "status")
    assert (result.returncode, result.stderr.strip(), result.stdout) == (1, expected, "")


def test_a_valid_invoke_yaml_passes_the_check(tmp_path: Path) -> None:
    config_file.check_syntax(REPO / "invoke.yaml")
    config_file.check_syntax(tmp_path / "absent.yaml")  # no file: `configured` says what is missing


@pytest.mark.parametrize(("words", "expected"), [
    (("deploy", "--timeout", "abc"), "--timeout takes a whole number, not 'abc'"),
    (("rollback", "--timeout", "5s"), "--timeout takes a whole number, not '5s'"),
    (("health", "--interval", "1.5"), "--interval takes a whole number, not '1.5'"),
    (("logs", "--tail", "ten"), "--tail takes a whole number, not 'ten'"),
    # The near miss: a number is taken, and the next check speaks.
    (("deploy", "--timeout", "5", "--env", "nope"), "unknown environment 'nope'; valid: dev, staging, prod"),
])
def test_number_flags_that_are_not_numbers_are_one_line(words: tuple[str, ...], expected: str) -> None:
    result = run_invoke(REPO, *words)
    assert (result.returncode, result.stderr.strip(), result.stdout) == (1, expected, "")


@pytest.mark.parametrize("name", ["Prod", "prod ", "production", "stag", "dev\n"])
@pytest.mark.parametrize("verb", ["deploy", "env-check", "env-init"])
def test_an_environment_spelt_almost_right_is_refused(verb: str, name: str) -> None:
    """Matched exactly: an env-check under another name must not quietly apply the dev rules."""
    c = mock_context()
    refusal = f"^unknown environment {re.escape(repr(name))}; valid: dev, staging, prod$"
    with pytest.raises(Exit, match=refusal):
        VERBS[verb](c, env=name)
    runs(c).assert_not_called()
