"""`invoke env-check`: an env file against the settings catalogue and, outside dev, the production rules.

Pure: the file's text in, findings out. A finding never holds a secret's value; non-secret values
are shown so a reader sees what was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import envfile
from .envfile import noa_env
from .settings_catalogue import env_catalogue, settings

OK, FAIL, UNKNOWN = "ok", "FAIL", "unknown"


@dataclass(frozen=True)
class Finding:
    variable: str
    status: str  # ok | FAIL | unknown (not in the catalogue; ignored by the services)
    detail: str
    value: str | None = None  # None for secrets and unset variables

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def _check_derived(declared: env_catalogue.Variable, raw: str | None) -> Finding:
    sources = ", ".join(declared.derived_from)
    if raw is not None:
        return Finding(declared.name, FAIL, f"is computed from {sources} where the configuration is "
                                            f"rendered: remove it from the file")
    return Finding(declared.name, OK, f"computed from {sources}")


def _check_variable(declared: env_catalogue.Variable, raw: str | None, environment: str,
                    parsed: dict[str, Any]) -> Finding:
    shown = None if declared.secret else raw
    if raw is None:
        if declared.required:
            return Finding(declared.name, FAIL, "required and not set")
        parsed[declared.name] = settings.parse_value(declared, str(declared.default))
        return Finding(declared.name, OK, f"not set: default {declared.default!r} applies")
    try:
        value = settings.parse_value(declared, raw)
    except ValueError as error:
        return Finding(declared.name, FAIL, str(error), shown)
    reason = settings.check_value(declared, value, environment)
    strict = environment in env_catalogue.STRICT_ENVIRONMENTS
    if reason is None and strict and declared.secret and raw == declared.example:
        reason = f"is the example value of .env.example (required in {environment})"
    if reason is None and declared.name == "NOA_ENV" and value != environment:
        reason = f"must be {environment} in this environment's file"
    if reason is not None:
        return Finding(declared.name, FAIL, reason, shown)
    parsed[declared.name] = value
    return Finding(declared.name, OK, "secret, passes its rules" if declared.secret else "valid", shown)


def check(values: Mapping[str, str], env_name: str) -> list[Finding]:
    """Every catalogue variable, then the cross-variable constraints, then names the services ignore."""
    environment = noa_env(env_name)
    parsed: dict[str, Any] = {}
    findings = []
    for declared in env_catalogue.VARIABLES:
        raw = values.get(declared.name) or None  # empty counts as unset, as in the services
        if declared.name == "NOA_ENV" and raw is None and environment != "development":
            reason = f"must be set to {environment} (the default is development)"
            findings.append(Finding("NOA_ENV", FAIL, reason))
            continue
        if declared.derived_from:
            findings.append(_check_derived(declared, raw))
            continue
        findings.append(_check_variable(declared, raw, environment, parsed))
    for constraint in env_catalogue.CONSTRAINTS:
        names = constraint.variables
        if all(name in parsed for name in names) and not constraint.holds(parsed):
            findings.append(Finding(names[0], FAIL, constraint.description))
    known = {item.name for item in env_catalogue.VARIABLES}
    findings.extend(Finding(name, UNKNOWN, "not in the settings catalogue: no service reads it")
                    for name in sorted(set(values) - known))
    return findings


def check_file(path: Path, env_name: str) -> list[Finding]:
    return check(envfile.parse(envfile.read_text(path)), env_name)


def as_json(path: Path, env_name: str, findings: list[Finding]) -> dict[str, Any]:
    return {
        "environment": env_name,
        "noa_env": noa_env(env_name),
        "file": str(path),
        "ok": not any(finding.failed for finding in findings),
        "findings": [
            {"variable": f.variable, "status": f.status, "detail": f.detail, "value": f.value}
            for f in findings
        ],
        # What the file's keys give (API_CLIENTS: digests only), e.g. to seal for a SealedSecret.
        "derived": envfile.derived_values(envfile.parse(envfile.read_text(path))),
    }
