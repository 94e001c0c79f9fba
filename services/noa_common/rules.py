"""Validation rules for settings: each checks a parsed value and describes itself for the docs.

Rules never quote the value they reject: the caller decides whether a value may be shown
(secrets never are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

SettingValue = str | int | float | bool


class Rule(Protocol):
    def check(self, value: SettingValue) -> str | None:
        """Return why the value is invalid, or None when it is valid."""

    def describe(self) -> str:
        """One phrase for generated docs, e.g. 'between 1 and 65535'."""


@dataclass(frozen=True)
class Between:
    """A number within [minimum, maximum]; either bound may be open-ended (None)."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def check(self, value: SettingValue) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if self.minimum is not None:
            too_small = value <= self.minimum if self.exclusive_minimum else value < self.minimum
            if too_small:
                return f"must be {self._lower_phrase()}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {_number(self.maximum)}"
        return None

    def describe(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(self._lower_phrase())
        if self.maximum is not None:
            parts.append(f"at most {_number(self.maximum)}")
        return " and ".join(parts) or "any number"

    def _lower_phrase(self) -> str:
        assert self.minimum is not None
        word = "greater than" if self.exclusive_minimum else "at least"
        return f"{word} {_number(self.minimum)}"


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def check(self, value: SettingValue) -> str | None:
        if value in self.choices:
            return None
        return f"must be one of {', '.join(self.choices)}"

    def describe(self) -> str:
        return f"one of {', '.join(self.choices)}"


@dataclass(frozen=True)
class NonEmpty:
    def check(self, value: SettingValue) -> str | None:
        return None if str(value).strip() else "must not be empty"

    def describe(self) -> str:
        return "not empty"


_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$|^[0-9A-Fa-f:]+$")


@dataclass(frozen=True)
class Hostname:
    """A DNS name or an IP address (no scheme, no port)."""

    def check(self, value: SettingValue) -> str | None:
        if _HOSTNAME.match(str(value)):
            return None
        return "must be a host name or IP address (no scheme or port)"

    def describe(self) -> str:
        return "a host name or IP address"


_TZ_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$")


@dataclass(frozen=True)
class TimezoneName:
    """An IANA-style zone name. Only its shape is checked: the image may carry no tz database."""

    def check(self, value: SettingValue) -> str | None:
        return None if _TZ_NAME.match(str(value)) else "must be a time zone name such as UTC or Europe/Berlin"

    def describe(self) -> str:
        return "a time zone name such as UTC"


@dataclass(frozen=True)
class HttpUrl:
    """An absolute http(s) URL with a host and without a trailing path (a base URL)."""

    def check(self, value: SettingValue) -> str | None:
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "must be an http:// or https:// URL with a host, e.g. http://mcp:8001"
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return "must be a base URL without path, query or fragment"
        try:
            _ = parts.port
        except ValueError:
            return "has an invalid port"
        return None

    def describe(self) -> str:
        return "an http(s) base URL"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
