"""Every table the tasks print fits an 80-column terminal without cutting a value or a header:
long values wrap inside their cell (`invoke status` has its own test, test_status.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from rich.console import Console
from rich.table import Table

from noa_ops import report
from noa_ops.envcheck import Finding
from noa_ops.probes import Check, Verdict

DIGEST = "127.0.0.1:5000/noa/claude-flow@sha256:" + "0123456789abcdef" * 4
DETAIL = ("readiness 503: postgres failed (connection refused to postgres:5432 after 2.0 s), "
          "redis ok, mcp failed (HTTP 503 from http://mcp:8001/health/ready)")


def _health() -> None:
    checks = [Check("claude-flow", "ready", False, "503", 2012.4, DETAIL),
              Check("postgres", "docker", True, "running (healthy)", None, "")]
    report.print_health(checks, Verdict(False, ("claude-flow",)), "dev")


def _env_check() -> None:
    report.print_env_check([
        Finding("CLAUDE_FLOW_MAX_WORKFLOWS", "FAIL", "must be a whole number between 1 and 100000, "
                "not 'many' (the default 1000 applies)", "many"),
        Finding("CORS_ORIGIN", "ok", "", "http://127.0.0.1:9200,https://dashboard.staging.example.org"),
        Finding("NOA_SPELT_WRONG", "unknown", "not in the settings catalogue: no service reads it"),
    ], "env-check of .noa/staging.env for staging")


def _images() -> None:
    report.print_images({"claude-flow": DIGEST, "llama": DIGEST.replace("claude-flow", "llama")},
                        "pushed to 127.0.0.1:5000/noa")


TABLES: dict[str, tuple[Callable[[], None], tuple[str, ...], tuple[str, ...]]] = {
    # name: (what prints it, its headers, values that must arrive whole)
    "health": (_health, ("service", "check", "result", "status", "latency", "detail"),
               (DETAIL, "2012.4 ms", "claude-flow")),
    "env-check": (_env_check, ("variable", "result", "value", "detail"),
                  ("CLAUDE_FLOW_MAX_WORKFLOWS", "https://dashboard.staging.example.org", "NOA_SPELT_WRONG")),
    "images": (_images, ("service", "image"), (DIGEST,)),
}


def printed(show: Callable[[], None], width: int, monkeypatch: pytest.MonkeyPatch) -> str:
    console = Console(width=width, record=True, highlight=False, force_terminal=True)
    monkeypatch.setattr(report, "out", console)
    show()
    return console.export_text()


def cells_text(shown: str) -> str:
    """The table's text with borders and line breaks gone: what a cut would lose."""
    return re.sub(r"[\s│┃┏┓┗┛┡┩└┘┌┐├┤┼━─╇╈┳┻╋]", "", shown)


@pytest.mark.parametrize("name", TABLES)
def test_each_table_fits_80_columns_and_keeps_every_value(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    show, headers, values = TABLES[name]
    shown = printed(show, 80, monkeypatch)
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    assert "…" not in shown, shown
    header_line = next(line for line in shown.splitlines() if headers[0] in line)
    for header in headers:
        assert re.search(rf"\b{re.escape(header)}\b", header_line), (header, shown)
    for value in values:
        assert re.sub(r"\s", "", value) in cells_text(shown), (value, shown)


def test_the_near_miss_a_column_that_may_not_wrap_is_cut_at_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the tests above catch: the images table with its image column unwrappable."""
    original = Table.add_column

    def no_wrap(self: Table, *args: object, **kwargs: object) -> None:
        original(self, *args, **{**kwargs, "overflow": "ellipsis", "no_wrap": True})  # type: ignore[arg-type]

    monkeypatch.setattr(Table, "add_column", no_wrap)
    shown = printed(_images, 80, monkeypatch)
    assert "…" in shown or re.sub(r"\s", "", DIGEST) not in cells_text(shown)
