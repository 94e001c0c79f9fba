"""Where the integration suite runs: a compose project, ports and operator state of its own.

The suite never touches an operator's stack. Each run is an `Operator` with a runtime invoke
config (`invoke -f <home>/invoke.yaml`) that gives `dev` a project named for this checkout and
run (noa-it-<checkout>-<run>), an env file in the run's home, and a port offset at which all of its
published ports were free when the run began; NOA_STATE_DIR puts its releases, locks and build
records in that home too. The tests call `invoke ... --env dev` as an operator would; only the
names and ports differ from the operator's dev stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from noa_ops import catalogue
from noa_ops.ports import free_offset
from tests.run_names import CHECKOUT, RUN

REPO = Path(__file__).resolve().parents[2]

Completed = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Operator:
    """The operator CLI with a runtime config and state of its own, in `home`."""

    home: Path
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.home / "invoke.yaml"

    def env_file(self, env: str = "dev") -> Path:
        return self.home / f"{env}.env"

    def project(self, env: str = "dev") -> str:
        return str(self.environments[env]["project"])

    def port(self, service: str, env: str = "dev") -> int:
        return catalogue.compose_service(service).port + int(self.environments[env].get("port_offset", 0))

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        settings = {env: {"env_file": str(self.env_file(env)), **values}
                    for env, values in self.environments.items()}
        self.config_file.write_text(yaml.safe_dump({"noa": {"environments": settings}}))

    def environ(self) -> dict[str, str]:
        return {**os.environ, "NOA_STATE_DIR": str(self.home / "state")}

    def remove_home(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def command(self, *args: str) -> list[str]:
        """`invoke -f <home>/invoke.yaml ARGS`, the config written first if it is not there yet."""
        if not self.config_file.exists():
            self.write_config()
        return [sys.executable, "-m", "invoke", "-f", str(self.config_file), *args]

    def start(self, *args: str, **popen: Any) -> subprocess.Popen[str]:
        """The same, started and left running (its output as `popen` says), from the repo root."""
        return subprocess.Popen(self.command(*args), cwd=REPO, env=self.environ(), text=True, **popen)

    def invoke(self, *args: str, check: bool = True, timeout: float = 1200) -> Completed:
        """`invoke -f <home>/invoke.yaml ARGS` from the repo root, the way an operator runs it."""
        result = subprocess.run(self.command(*args), cwd=REPO, env=self.environ(), capture_output=True,
                                text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(
                f"invoke {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result


def run_operator(name: str, environments: dict[str, dict[str, Any]]) -> Operator:
    """An operator in a fresh home for this run, e.g. run_operator("main", {"dev": {...}})."""
    home = Path(tempfile.mkdtemp(prefix=f"noa-it-{CHECKOUT}-{RUN}-{name}-"))
    return Operator(home, environments)


SUITE_OFFSET = free_offset()
# The suite's stack runs the monitoring profile too: every test sees it beside the seven.
SUITE = run_operator("suite", {"dev": {"project": f"noa-it-{CHECKOUT}-{RUN}", "port_offset": SUITE_OFFSET,
                                       "profiles": list(catalogue.PROFILES)}})
