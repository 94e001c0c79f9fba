"""JSON log lines: the contract's keys, extras, uvicorn access fields, and secret redaction."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from noa_common.json_logging import (
    REDACTED,
    JsonFormatter,
    QuietProbesFilter,
    SecretRedactor,
    configure_logging,
    level_name,
)


def record(
    name: str, level: int, msg: str, args: tuple[object, ...] | None = None, **extra: object
) -> logging.LogRecord:
    item = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(item, key, value)
    return item


def test_line_has_contract_keys_and_extras() -> None:
    item = record("noa.test", logging.WARNING, "hello %s", ("world",), variable="X")
    line = JsonFormatter("mcp").format(item)
    payload = json.loads(line)
    assert list(payload)[:5] == ["ts", "level", "service", "logger", "msg"]
    assert payload["level"] == "warn"
    assert payload["service"] == "mcp"
    assert payload["logger"] == "noa.test"
    assert payload["msg"] == "hello world"
    assert payload["variable"] == "X"
    assert payload["ts"].endswith("Z") and "T" in payload["ts"]


def test_uvicorn_access_line_gets_fields() -> None:
    item = record("uvicorn.access", logging.INFO, '%s - "%s %s HTTP/%s" %d',
                  ("127.0.0.1:5000", "GET", "/workflows", "1.1", 200))
    payload = json.loads(JsonFormatter("claude-flow").format(item))
    assert payload["method"] == "GET" and payload["path"] == "/workflows" and payload["status"] == 200
    assert payload["client"] == "127.0.0.1:5000"


def test_exception_is_one_field_not_extra_lines() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        item = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = JsonFormatter("mcp").format(item)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exc"]


def test_secrets_are_redacted_everywhere() -> None:
    secret = "s3cr3t-password-value"
    formatter = JsonFormatter("mcp", SecretRedactor([secret]))
    item = record("x", logging.ERROR, "connect failed with %s", (secret,), dsn=f"postgres://noa:{secret}@db/noa",
                  nested={"list": [secret, 1], "ok": True})
    line = formatter.format(item)
    assert secret not in line
    payload = json.loads(line)
    assert payload["msg"] == f"connect failed with {REDACTED}"
    assert payload["dsn"] == f"postgres://noa:{REDACTED}@db/noa"
    assert payload["nested"] == {"list": [REDACTED, 1], "ok": True}


def test_redactor_prefers_longest_and_skips_tiny_values() -> None:
    redactor = SecretRedactor(["abcd", "abcdefgh", "x"])
    assert redactor.redact("abcdefgh abcd x") == f"{REDACTED} {REDACTED} x"


def test_level_names_match_log_level_vocabulary() -> None:
    assert [level_name(level) for level in (10, 20, 30, 40)] == ["debug", "info", "warn", "error"]


def test_configure_logging_routes_uvicorn_through_json(restore_root_logger: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler(io.StringIO()))
    configure_logging("agenticos", "info", ["topsecretvalue"])
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("noa.test").debug("hidden at info")
    logging.getLogger("noa.test").error("leak topsecretvalue?")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == ["Started server process [42]", f"leak {REDACTED}?"]
    assert all(line["service"] == "agenticos" for line in lines)
    assert logging.getLogger("uvicorn.error").handlers == []


def test_successful_probe_access_lines_are_quiet(restore_root_logger: None) -> None:
    logging.getLogger().setLevel(logging.INFO)
    probe_filter = QuietProbesFilter()

    def access(path: str, status: int) -> logging.LogRecord:
        args = ("c", "GET", path, "1.1", status)
        return record("uvicorn.access", logging.INFO, '%s - "%s %s HTTP/%s" %d', args)

    assert not probe_filter.filter(access("/health/ready", 200))
    assert probe_filter.filter(access("/health/ready", 503))
    assert probe_filter.filter(access("/workflows", 200))
    assert probe_filter.filter(record("noa.x", logging.INFO, "/health"))
    logging.getLogger().setLevel(logging.DEBUG)
    assert probe_filter.filter(access("/health", 200))
