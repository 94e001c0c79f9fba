"""Logs of several services merged in time order, filtered by level and pattern.

Every app service writes one JSON object per line ("ts", "level", "service", "msg"). The engine
(`docker compose logs --timestamps`) or kubectl (`--timestamps --prefix`) puts its own RFC 3339
timestamp in front of each line; that timestamp orders the merge, so lines that are not JSON
(Postgres, Redis, nginx, llama.cpp) have a place too. A line's level comes from its JSON "level",
else from its native format (`NATIVE_FORMATS`: Postgres, Redis, llama-server, nginx's error log,
Python's and uvicorn's `LEVEL:` prefix, our entrypoints, plain `error:`/`warning:`). `--level`
keeps the lines at that level or above; a line with no known level is left out and counted, and
the task says how many. `--grep` is a regular expression over the line. Parsing, filtering and
merging are pure; `LineFilter` applies them to a followed stream and keeps the count.
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

# Native formats, as the line reads after the engine's timestamp: a pattern whose `level` group is
# the format's own level name, and what each name is here. Tried in order; the first match decides.
NATIVE_FORMATS: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    # Postgres with its default log_line_prefix '%m [%p] ' (docker/postgres/ keeps it):
    # `2026-12-03 05:40:01.123 UTC [1] LOG:  ready`. The lines that only add to a message (DETAIL,
    # HINT, QUERY, CONTEXT, LOCATION, STATEMENT) are info, whatever the message's own level.
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ \[\d+\] (?P<level>[A-Z]+[1-5]?):  "),
     {**dict.fromkeys(("DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5"), "debug"),
      **dict.fromkeys(("INFO", "NOTICE", "LOG"), "info"),
      **dict.fromkeys(("DETAIL", "HINT", "QUERY", "CONTEXT", "LOCATION", "STATEMENT"), "info"),
      "WARNING": "warning", "ERROR": "error", "FATAL": "critical", "PANIC": "critical"}),
    # Redis: `1:M 03 Dec 2026 05:40:01.123 * Ready to accept connections tcp` (pid:role, then the
    # level mark: . debug, - verbose, * notice, # warning).
    (re.compile(r"^\d+:[XCSM] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} (?P<level>[.*#-]) "),
     {".": "debug", "-": "debug", "*": "info", "#": "warning"}),
    # llama-server (b11312): common_init() turns on its log prefix and timestamps, minutes.seconds.
    # ms.us since start, then D/I/W/E: `0.00.012.345 W llama_context: ...`. Continued lines and
    # plain output carry neither, and stay unclassified.
    (re.compile(r"^\d+\.\d\d\.\d{3}\.\d{3} (?P<level>[DIWE]) "),
     {"D": "debug", "I": "info", "W": "warning", "E": "error"}),
    # nginx's error log, `2026/12/03 05:40:01 [warn] 1#1: *3 upstream timed out`, and what it says
    # on stderr before that log is open, `nginx: [emerg] host not found in upstream "mcp"`.
    (re.compile(r"^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d |nginx: )\[(?P<level>[a-z]+)\] "),
     {"debug": "debug", "info": "info", "notice": "info", "warn": "warning", "error": "error",
      "crit": "critical", "alert": "critical", "emerg": "critical"}),
    # Our own entrypoints (docker/postgres, docker/redis): `noa-redis: error: ...` when they give up,
    # `noa-postgres: running initdb ...` otherwise.
    (re.compile(r"^noa-[a-z]+: (?P<level>error(?=: )|)"), {"error": "error", "": "info"}),
    # Python's and uvicorn's default formats (`WARNING:root:msg`, `INFO:     Started server`), and
    # a C program's plain `error: ...` / `warning: ...` (llama-server's argument errors).
    (re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL|error|warning):"),
     {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error", "CRITICAL": "critical",
      "error": "error", "warning": "warning"}),
)


@dataclass(frozen=True)
class LogLine:
    at: str  # the engine's timestamp, normalised to nanoseconds so text order is time order
    service: str
    text: str
    level: str | None  # the JSON line's own, else its native format's; None when neither names one

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


def native_level(text: str) -> str | None:
    """The level a line that is not JSON names in its own format (NATIVE_FORMATS); None if none."""
    for pattern, levels in NATIVE_FORMATS:
        match = pattern.match(text)
        if match:
            return levels.get(match["level"])
    return None


def parse_timestamped(service: str, raw: str) -> LogLine | None:
    """`<timestamp> <line>`; None for an empty line."""
    if not raw.strip():
        return None
    stamp, _, text = raw.rstrip("\n").partition(" ")
    return LogLine(normalise_timestamp(stamp), service, text, json_level(text) or native_level(text))


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


def level_rank(line: LogLine) -> int | None:
    """The line's level as a number; None when it has none, or one that is not in LEVELS."""
    return LEVELS.get(line.level) if line.level else None


def matches(line: LogLine, pattern: re.Pattern[str] | None) -> bool:
    return pattern is None or pattern.search(line.text) is not None


def keep(line: LogLine, min_level: int | None, pattern: re.Pattern[str] | None) -> bool:
    if min_level is not None and (level_rank(line) or 0) < min_level:
        return False
    return matches(line, pattern)


def left_out_unclassified(line: LogLine, min_level: int | None, pattern: re.Pattern[str] | None) -> bool:
    """--level left this line out only because its level is not known (--grep would keep it)."""
    return min_level is not None and level_rank(line) is None and matches(line, pattern)


def count_unclassified(lines: Iterable[LogLine], min_level: int | None,
                       pattern: re.Pattern[str] | None) -> int:
    return sum(left_out_unclassified(line, min_level, pattern) for line in lines)


def unclassified_note(count: int, level: str) -> str:
    """The task's one line on stderr about the lines --level left out unread; "" for none."""
    if not count:
        return ""
    lines, were = ("1 line", "was") if count == 1 else (f"{count} lines", "were")
    return f"logs: {lines} had no known level and {were} left out by --level {level}"


def merge(lines: Iterable[LogLine]) -> list[LogLine]:
    """Time order across services; a service's own order is kept for equal timestamps."""
    return sorted(lines, key=lambda line: line.at)


def format_line(line: LogLine, width: int) -> str:
    return f"{line.service:<{width}} | {line.text}"


class LineFilter:
    """A stream for Context.run(out_stream=...): whole lines parsed, filtered and printed prefixed.
    `unclassified` counts the lines --level left out for want of a known level (left_out_unclassified)."""

    def __init__(self, parse: Any, min_level: int | None, pattern: re.Pattern[str] | None, width: int,
                 sink: TextIO | None = None) -> None:
        self.parse, self.min_level, self.pattern, self.width = parse, min_level, pattern, width
        self.sink = sink or sys.stdout
        self.pending = ""
        self.unclassified = 0

    def write(self, data: str) -> int:
        self.pending += data
        *complete, self.pending = self.pending.split("\n")
        for raw in complete:
            line = self.parse(raw)
            if line is None:
                continue
            if keep(line, self.min_level, self.pattern):
                self.sink.write(format_line(line, self.width) + "\n")
            elif left_out_unclassified(line, self.min_level, self.pattern):
                self.unclassified += 1
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
