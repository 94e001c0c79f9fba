"""One JSON object per line on stdout, for our loggers and uvicorn's alike, with secrets redacted.

Keys: ts (ISO 8601 UTC), level, service, logger, msg, then any ``extra=`` fields. uvicorn's access
lines also get client, method, path and status as fields.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

REDACTED = "[REDACTED]"
# Shorter secrets would redact common substrings of every line; production requires 16+ anyway.
MIN_REDACTED_LENGTH = 4
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message", "taskName"}
_LEVEL_NAMES = {logging.WARNING: "warn", logging.CRITICAL: "critical"}
_QUIET_PATH_PREFIXES = ("/health", "/metrics")


class SecretRedactor:
    """Replaces known secret values wherever they appear in a log line's text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_REDACTED_LENGTH and secret not in self._secrets:
            self._secrets.append(secret)
            # Longest first, so a secret containing another is replaced whole.
            self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item) for item in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.redact(str(value))


def level_name(levelno: int) -> str:
    return _LEVEL_NAMES.get(levelno, logging.getLevelName(levelno).lower())


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    # uvicorn.access formats '%s - "%s %s HTTP/%s" %d' with these five args.
    args = record.args
    if record.name != "uvicorn.access" or not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, _version, status = args
    return {"client": client, "method": method, "path": path, "status": status}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, redactor: SecretRedactor | None = None) -> None:
        super().__init__()
        self.service = service
        self.redactor = redactor or SecretRedactor()

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": level_name(record.levelno),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update(_access_fields(record))
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(self.redactor.redact_value(payload), default=str, ensure_ascii=False)


class QuietProbesFilter(logging.Filter):
    """Drop access lines of successful health/metrics probes (every 5 s per service) unless debugging."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _access_fields(record)
        if not fields or logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
            return True
        path, status = str(fields["path"]), fields["status"]
        quiet = path.startswith(_QUIET_PATH_PREFIXES) and isinstance(status, int) and status < 400
        return not quiet


def configure_logging(service: str, level: str = "info", secrets: Iterable[str] = ()) -> SecretRedactor:
    """Route the root logger and uvicorn's loggers to one JSON handler on stdout; returns its redactor."""
    redactor = SecretRedactor(secrets)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service, redactor))
    handler.addFilter(QuietProbesFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
    # uvicorn (and `uvicorn --factory` in dev) installs its own handlers; send everything through ours.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        for existing in list(logger.handlers):
            logger.removeHandler(existing)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    return redactor
