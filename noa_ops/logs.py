"""Logs of several services merged in time order, filtered by level and pattern.

Every app service writes one JSON object per line ("ts", "level", "service", "msg"). The engine
(`docker compose logs --timestamps`) or kubectl (`--timestamps --prefix`) puts its own RFC 3339
timestamp in front of each line; that timestamp orders the merge, so lines that are not JSON
(Postgres, Redis, nginx, llama.cpp) have a place too. `--level` keeps JSON lines at that level or
above (other lines have no level and are left out); `--grep` is a regular expression over the line.
Parsing, filtering and merging are pure; `LineFilter` applies them to a followed stream.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from .errors import NoaError

LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50, "fatal": 50}
LEVEL_NAMES = ("debug", "info", "warning", "error", "critical")
# `mcp-1  | 2026-11-26T19:22:35.123456789Z {...}` from `docker compose logs --timestamps --follow`.
_COMPOSE_PREFIX = re.compile(r"^(?P<service>[A-Za-z0-9._-]+?)-\d+\s+\|\s?(?P<rest>.*)$")
# `[pod/mcp-5d8f9-abcde/mcp] 2026-11-26T19:22:35.123456789Z {...}` from `kubectl logs --prefix`.
_KUBE_PREFIX = re.compile(r"^\[pod/(?P<pod>[^/\]]+)/(?P<container>[^\]]+)\]\s(?P<rest>.*)$")
_FRACTION = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class LogLine:
    at: str  # the engine's timestamp, normalised to nanoseconds so text order is time order
    service: str
    text: str
    level: str | None  # from the JSON line; None when the line is not one

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "service": self.service, "level": self.level, "line": self.text}


def normalise_timestamp(stamp: str) -> str:
    """RFC 3339 in UTC with the fraction padded to 9 digits (the engine trims trailing zeros), so
    that text order is time order whatever offset or precision a line came with."""
    match = _FRACTION.match(stamp)
    if not match:
        return stamp
    try:
        moment = datetime.fromisoformat(match["base"] + match["zone"].replace("Z", "+00:00"))
    except ValueError:
        return stamp
    base = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{(match['fraction'] or '').ljust(9, '0')[:9]}Z"


def json_level(text: str) -> str | None:
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    level = data.get("level") if isinstance(data, dict) else None
    return str(level).lower() if level else None


def parse_timestamped(service: str, raw: str) -> LogLine | None:
    """`<timestamp> <line>`; None for an empty line."""
    if not raw.strip():
        return None
    stamp, _, text = raw.rstrip("\n").partition(" ")
    return LogLine(normalise_timestamp(stamp), service, text, json_level(text))


def parse_compose_line(raw: str) -> LogLine | None:
    match = _COMPOSE_PREFIX.match(raw.rstrip("\n"))
    return parse_timestamped(match["service"], match["rest"]) if match else None


def parse_kubectl_line(raw: str) -> LogLine | None:
    """The container name is the service (every Noa pod's main container is named after it)."""
    match = _KUBE_PREFIX.match(raw.rstrip("\n"))
    return parse_timestamped(match["container"], match["rest"]) if match else None


def check_level(level: str) -> int | None:
    if not level:
        return None
    if level.lower() not in LEVELS:
        raise NoaError(f"logs: unknown level {level!r}; valid: {', '.join(LEVEL_NAMES)}")
    return LEVELS[level.lower()]


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise NoaError(f"logs: --grep {pattern!r} is not a regular expression: {error}") from None


def keep(line: LogLine, min_level: int | None, pattern: re.Pattern[str] | None) -> bool:
    if min_level is not None and (line.level is None or LEVELS.get(line.level, 0) < min_level):
        return False
    return pattern is None or pattern.search(line.text) is not None


def merge(lines: Iterable[LogLine]) -> list[LogLine]:
    """Time order across services; a service's own order is kept for equal timestamps."""
    return sorted(lines, key=lambda line: line.at)


def format_line(line: LogLine, width: int) -> str:
    return f"{line.service:<{width}} | {line.text}"


class LineFilter:
    """A stream for Context.run(out_stream=...): whole lines parsed, filtered and printed prefixed."""

    def __init__(self, parse: Any, min_level: int | None, pattern: re.Pattern[str] | None, width: int,
                 sink: TextIO | None = None) -> None:
        self.parse, self.min_level, self.pattern, self.width = parse, min_level, pattern, width
        self.sink = sink or sys.stdout
        self.pending = ""

    def write(self, data: str) -> int:
        self.pending += data
        *complete, self.pending = self.pending.split("\n")
        for raw in complete:
            line = self.parse(raw)
            if line is not None and keep(line, self.min_level, self.pattern):
                self.sink.write(format_line(line, self.width) + "\n")
        self.sink.flush()
        return len(data)

    def flush(self) -> None:
        self.sink.flush()


def collect(c: Any, env: Any, services: list[str], *, tail: int, since: str = "") -> list[LogLine]:
    """Compose: each service's lines (engine timestamps), then one merge."""
    from . import compose_commands as compose
    from .shell import run

    lines: list[LogLine] = []
    for service in services:
        result = run(c, compose.service_logs(env, service, tail=tail, since=since), hide=True)
        if result.failed:
            reason = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
            raise NoaError(f"logs: docker compose logs {service} failed: {reason}")
        lines += [line for raw in result.stdout.splitlines() if (line := parse_timestamped(service, raw))]
    return lines


def parse_all(text: str, parse: Any) -> list[LogLine]:
    return [line for raw in text.splitlines() if (line := parse(raw)) is not None]


def select_lines(lines: Iterable[LogLine], min_level: int | None,
                 pattern: re.Pattern[str] | None) -> list[LogLine]:
    return merge(line for line in lines if keep(line, min_level, pattern))
