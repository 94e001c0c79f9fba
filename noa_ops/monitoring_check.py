"""The monitoring profile's files, as `nox -s validate` checks them: `promtool check config` of
prometheus.yml, `promtool check rules` of the alert rules, their unit tests (`promtool test
rules`), `amtool check-config` of alertmanager.yml, and a seeded defect (TargetDown after 4
minutes, not 5) that those tests must fail. promtool and amtool come from noa_ops.prometheus_tools.

    python -m noa_ops.monitoring_check

One line on error, exit 1. Standard library only.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from noa_ops import paths, prometheus_tools

MONITORING = Path("docker/monitoring")
ALERT_RULES = MONITORING / "alert-rules.yml"
ALERT_TESTS = Path("tests/monitoring/alert-rules.test.yml")
SEEDED_RULE = 'expr: up{job!="llama"} == 0\n        for: 5m'
SEEDED_FAILURE = "alertname: TargetDown"


class CheckError(Exception):
    """One line: which check failed."""


def monitoring_copy(directory: Path, root: Path = paths.REPO) -> Path:
    """docker/monitoring/*.yml copied to `directory`, each absolute credentials_file (a secret mounted
    in the container) pointing at a placeholder beside it: `promtool check config` opens them.
    The copy's prometheus.yml."""
    for source in (root / MONITORING).glob("*.yml"):
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


def seeded_copy(directory: Path, root: Path = paths.REPO) -> Path:
    """The rules and their tests copied under `directory`, TargetDown's `for:` cut to 4 minutes.
    The copy's test file."""
    for name in (ALERT_RULES, ALERT_TESTS):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text((root / name).read_text())
    rules = directory / ALERT_RULES
    text = rules.read_text()
    seeded = text.replace(SEEDED_RULE, SEEDED_RULE.replace("for: 5m", "for: 4m"), 1)
    if seeded == text:
        raise CheckError(f"the seeded defect needs TargetDown's rule as written here: {SEEDED_RULE!r}")
    rules.write_text(seeded)
    return directory / ALERT_TESTS


def checks(promtool: str, amtool: str, config: Path) -> list[list[str]]:
    return [[promtool, "check", "config", str(config)],
            [promtool, "check", "rules", str(ALERT_RULES)],
            [promtool, "test", "rules", str(ALERT_TESTS)],
            [amtool, "check-config", str(MONITORING / "alertmanager.yml")]]


def run_checks(promtool: str, amtool: str, scratch: Path) -> None:
    copy = scratch / "monitoring"
    copy.mkdir()
    for command in checks(promtool, amtool, monitoring_copy(copy)):
        print(" ".join(command), flush=True)
        code = subprocess.run(command, cwd=paths.REPO, check=False).returncode
        if code != 0:
            raise CheckError(f"{' '.join([Path(command[0]).name, *command[1:]])} failed (exit {code})")
    command = [promtool, "test", "rules", str(seeded_copy(scratch / "broken"))]
    print(" ".join(command), flush=True)
    seeded = subprocess.run(command, cwd=paths.REPO, capture_output=True, text=True, check=False)
    if seeded.returncode != 1 or SEEDED_FAILURE not in seeded.stdout + seeded.stderr:
        raise CheckError("promtool test rules did not fail the seeded defect (TargetDown after 4 minutes)")
    print("promtool test rules failed the seeded defect (TargetDown after 4 minutes)")


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv):
        print("usage: python -m noa_ops.monitoring_check", file=sys.stderr)
        return 2
    try:
        promtool, amtool = (str(found.path) for found in prometheus_tools.locate(["promtool", "amtool"]))
        with tempfile.TemporaryDirectory(prefix="noa-monitoring-") as scratch:
            run_checks(promtool, amtool, Path(scratch))
    except (CheckError, prometheus_tools.ToolError) as error:
        print(f"monitoring: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
