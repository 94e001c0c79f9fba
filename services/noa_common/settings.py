"""Load and validate a service's settings from the environment, per noa_common.env_catalogue.

Loading never raises for a bad value: the service must keep serving /health and report the
problem, so each invalid variable becomes a SettingProblem (named, with a reason that never
contains a secret) and falls back to its default, and the service's startup never completes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from noa_common.env_catalogue import (
    CONSTRAINTS,
    PORT_VARIABLES,
    STRICT_ENVIRONMENTS,
    Kind,
    Variable,
    variable,
    variables_for,
)
from noa_common.rules import SettingValue

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_ZERO: Mapping[Kind, SettingValue] = {Kind.STRING: "", Kind.INTEGER: 0, Kind.NUMBER: 0.0, Kind.BOOLEAN: False}


@dataclass(frozen=True)
class SettingProblem:
    variable: str
    reason: str

    @property
    def message(self) -> str:
        return f"invalid setting {self.variable}: {self.reason}"


@dataclass(frozen=True)
class Settings:
    """The parsed values of one service's variables; typed getters fail loudly on a wrong name/kind."""

    service: str
    values: Mapping[str, SettingValue]
    problems: tuple[SettingProblem, ...] = ()
    _secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def secret_values(self) -> tuple[str, ...]:
        return self._secrets

    def text(self, name: str) -> str:
        return str(self._get(name, Kind.STRING))

    def integer(self, name: str) -> int:
        value = self._get(name, Kind.INTEGER)
        assert isinstance(value, int)
        return value

    def number(self, name: str) -> float:
        value = self._get(name, Kind.NUMBER)
        assert isinstance(value, int | float)
        return float(value)

    def flag(self, name: str) -> bool:
        return bool(self._get(name, Kind.BOOLEAN))

    def shown(self) -> dict[str, SettingValue]:
        """Every value this service runs with, secrets left out (for the log and GET /settings)."""
        return {name: value for name, value in sorted(self.values.items()) if not variable(name).secret}

    def _get(self, name: str, kind: Kind) -> SettingValue:
        declared = variable(name)
        if declared.kind is not kind:
            raise TypeError(f"{name} is a {declared.kind.value}, not a {kind.value}")
        if name not in self.values:
            raise KeyError(f"{name} is not read by the {self.service} service (see env_catalogue)")
        return self.values[name]


def parse_value(declared: Variable, raw: str) -> SettingValue:
    """Parse a raw string per the variable's kind; ValueError says why (quoting the value unless secret)."""
    shown = "the value" if declared.secret else repr(raw)
    text = raw.strip()
    if declared.kind is Kind.INTEGER:
        try:
            return int(text, 10)
        except ValueError:
            raise ValueError(f"{shown} is not an integer") from None
    if declared.kind is Kind.NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{shown} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{shown} is not a finite number")
        return number
    if declared.kind is Kind.BOOLEAN:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{shown} is not a boolean (true/false)")
    # Secrets keep their exact bytes (a password may end in a space); other strings are trimmed.
    return raw if declared.secret else text


def check_value(declared: Variable, value: SettingValue, environment: str) -> str | None:
    for rule in declared.rules:
        reason = rule.check(value)
        if reason is not None:
            return reason
    if environment not in STRICT_ENVIRONMENTS:
        return None
    minimum = declared.production_min_length
    if minimum is not None and len(str(value)) < minimum:
        return f"must be at least {minimum} characters in {environment}"
    for rule in declared.production_rules:
        reason = rule.check(value)
        if reason is not None:
            return f"{reason} (required in {environment})"
    return None


def _default_of(declared: Variable) -> SettingValue:
    if declared.default is None:
        return _ZERO[declared.kind]
    return parse_value(declared, declared.default)


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    # An empty variable counts as unset: compose writes ${VAR:-} as an empty string.
    raw = environ.get(name)
    return raw if raw else None


def _environment(environ: Mapping[str, str]) -> str:
    raw = (_raw(environ, "NOA_ENV") or "development").strip()
    return raw if raw in ("development", "staging", "production") else "development"


def _load_one(
    declared: Variable, environ: Mapping[str, str], environment: str
) -> tuple[SettingValue, str | None]:
    raw = _raw(environ, declared.name)
    if raw is None:
        if declared.required:
            return _default_of(declared), "is required and not set"
        return _default_of(declared), None
    try:
        value = parse_value(declared, raw)
    except ValueError as error:
        return _default_of(declared), str(error)
    reason = check_value(declared, value, environment)
    if reason is not None:
        return _default_of(declared), reason
    return value, None


def load_settings(service: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read every variable of ``service``; invalid ones fall back to defaults and are listed as problems."""
    env = os.environ if environ is None else environ
    environment = _environment(env)
    values: dict[str, SettingValue] = {}
    problems: list[SettingProblem] = []
    secrets: list[str] = []
    for declared in variables_for(service):
        value, reason = _load_one(declared, env, environment)
        values[declared.name] = value
        if reason is not None:
            problems.append(SettingProblem(declared.name, reason))
        raw = _raw(env, declared.name)
        if declared.secret and raw is not None:
            secrets.append(raw)
    failed = {problem.variable for problem in problems}
    for constraint in CONSTRAINTS:
        names = constraint.variables
        if all(name in values and name not in failed for name in names) and not constraint.holds(values):
            problems.append(SettingProblem(names[0], constraint.description))
    return Settings(service, values, tuple(problems), tuple(secrets))


def port_from_environment(name: str, environ: Mapping[str, str] | None = None) -> int:
    """The port in variable ``name`` if valid, else its catalogue default. The service binds this and
    the probe dials it, so both agree even when the variable is invalid (load_settings reports that)."""
    env = os.environ if environ is None else environ
    value, _reason = _load_one(variable(name), env, "development")
    assert isinstance(value, int)
    return value


def listen_port(service: str, environ: Mapping[str, str] | None = None) -> int:
    return port_from_environment(PORT_VARIABLES[service], environ)
