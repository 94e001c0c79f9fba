"""Validation rules for settings: each checks a parsed value and describes itself for the docs.

Rules never quote the value they reject: the caller decides whether a value may be shown
(secrets never are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from noa_common.api_keys import parse_clients

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


@dataclass(frozen=True)
class HexBytes:
    """Hex digits encoding exactly ``length`` bytes (e.g. a 256-bit key is 64 hex digits)."""

    length: int

    def check(self, value: SettingValue) -> str | None:
        text = str(value)
        if len(text) != 2 * self.length or not _HEX.match(text):
            return f"must be {2 * self.length} hex digits ({self.length} bytes)"
        return None

    def describe(self) -> str:
        return f"{2 * self.length} hex digits ({self.length} bytes)"


_HEX = re.compile(r"^[0-9A-Fa-f]*$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def split_list(value: SettingValue) -> list[str]:
    """A comma-separated setting as a list of its non-empty, trimmed items."""
    return [item.strip() for item in str(value).split(",") if item.strip()]


@dataclass(frozen=True)
class OriginList:
    """Comma-separated browser origins (scheme://host[:port], no path), or empty for none."""

    def check(self, value: SettingValue) -> str | None:
        for origin in split_list(value):
            if origin == "*":
                return "must list origins explicitly: '*' would let every site call the API"
            if not _ORIGIN.match(origin):
                return "must be comma-separated origins such as https://noa.example.com (no path)"
        return None

    def describe(self) -> str:
        return "comma-separated origins (scheme://host[:port]); empty for none; never *"


@dataclass(frozen=True)
class ApiClientList:
    """API_CLIENTS: NAME:sha256 pairs (noa_common/api_keys.py); empty lets nobody in."""

    def check(self, value: SettingValue) -> str | None:
        try:
            parse_clients(str(value))
        except ValueError as error:
            return f"must be NAME:SHA256 pairs, comma-separated: {error}"
        return None

    def describe(self) -> str:
        return "NAME:sha256 pairs, comma-separated"


# -- production rules: applied by the services when NOA_ENV is staging or production, and by
# `invoke env-check`. Each says what is wrong without quoting the (secret) value.

_PLACEHOLDER_WORDS = ("change", "placeholder", "example", "replace", "secret", "password", "default",
                      "dummy", "todo")


def looks_like_placeholder(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def _classes(text: str) -> int:
    return sum((any(ch.islower() for ch in text), any(ch.isupper() for ch in text),
                any(ch.isdigit() for ch in text), any(not ch.isalnum() for ch in text)))


@dataclass(frozen=True)
class StrongPassword:
    """At least ``min_length`` characters of at least three classes (lower, upper, digit, symbol)."""

    min_length: int = 16

    def check(self, value: SettingValue) -> str | None:
        text = str(value)
        if looks_like_placeholder(text):
            return "looks like a placeholder, not a real password"
        if len(text) < self.min_length:
            return f"must be at least {self.min_length} characters"
        if _classes(text) < 3:
            return "must mix at least three of: lower case, upper case, digits, symbols"
        return None

    def describe(self) -> str:
        return f">= {self.min_length} characters of 3+ classes, no placeholder"


# Bits per character of the alphabets a generated key is written in.
_BITS_HEX, _BITS_BASE64 = 4, 6


@dataclass(frozen=True)
class RandomKey:
    """At least ``min_bytes`` bytes of randomness: 2 per byte in hex, about 1.33 in base64."""

    min_bytes: int = 32

    def check(self, value: SettingValue) -> str | None:
        text = str(value)
        if looks_like_placeholder(text):
            return "looks like a placeholder, not a random key"
        bits = _BITS_HEX if _HEX.match(text) else _BITS_BASE64
        if len(text) * bits < self.min_bytes * 8:
            return f"must hold at least {self.min_bytes} random bytes (64 hex or 43 base64 characters)"
        # A random key of this length uses many distinct characters; a typed phrase or a
        # repeated pattern does not.
        if len(set(text)) < min(12, len(text) // 3):
            return "is not random (too few distinct characters)"
        return None

    def describe(self) -> str:
        return f">= {self.min_bytes} random bytes"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
