"""What the tasks print: rich tables for people, JSON for machines.

Results go to stdout; progress goes to stderr, so `--json` output stays parseable. Each is styled
only on a terminal (noa_ops/terminal.py). No printed line is broken (soft wrap), so a digest or an
image reference stays whole; tables fit a terminal's width, and without one their content's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import terminal
from .probes import Check, Verdict

# Without a terminal there is no width to fit: tables take the width of their content.
PLAIN_WIDTH = 10_000


def console(styled: bool, *, stderr: bool = False) -> Console:
    """A console that follows the styled-or-plain decision instead of rich's own guess (which
    FORCE_COLOR and a terminal on another stream sway); soft wrap: lines are never broken, on a
    terminal the terminal folds them."""
    if styled:
        return Console(stderr=stderr, highlight=False, soft_wrap=True, force_terminal=True, no_color=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, force_terminal=False, color_system=None,
                   width=PLAIN_WIDTH)


out = console(terminal.styled(sys.stdout))
progress = console(terminal.styled(sys.stderr), stderr=True)


def step(verb: str, message: str) -> None:
    progress.print(f"[bold]{escape(verb)}[/]: {escape(message)}")


def print_json(data: Any) -> None:
    # Plain print: rich would wrap long lines and break the JSON.
    print(json.dumps(data, indent=2))


def health_table(checks: list[Check], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("service")
    table.add_column("check")
    table.add_column("result")
    table.add_column("status")
    table.add_column("latency", justify="right")
    table.add_column("detail", overflow="fold")
    for check in checks:
        result = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        latency = "" if check.latency_ms is None else f"{check.latency_ms:.1f} ms"
        table.add_row(
            escape(check.service), escape(check.check), result, escape(check.status), latency,
            escape(check.detail),
        )
    return table


def print_health(checks: list[Check], result: Verdict, env_name: str) -> None:
    out.print(health_table(checks, f"health of {env_name}"))
    if result.ok:
        out.print("[green]all services healthy[/]")
    else:
        out.print(f"[red]unhealthy:[/] {escape(', '.join(result.unhealthy))}")


def print_env_check(findings: list[Any], title: str) -> None:
    """env-check findings (noa_ops.envcheck.Finding): failures first; secrets' values never shown."""
    table = Table(title=title, title_justify="left")
    table.add_column("variable", no_wrap=True)  # a name is never cut; the values and details wrap
    table.add_column("result")
    table.add_column("value", overflow="fold")
    table.add_column("detail", overflow="fold")
    styles = {"ok": "[green]ok[/]", "FAIL": "[red]FAIL[/]", "unknown": "[yellow]unknown[/]"}
    order = {"FAIL": 0, "unknown": 1, "ok": 2}
    for finding in sorted(findings, key=lambda f: order.get(f.status, 3)):
        value = "" if finding.value is None else escape(finding.value)
        table.add_row(escape(finding.variable), styles.get(finding.status, finding.status), value,
                      escape(finding.detail))
    out.print(table)


def _mark(value: bool | None) -> str:
    return "" if value is None else ("[green]yes[/]" if value else "[red]no[/]")


def print_status(rows: list[Any], *, wide: bool = False) -> None:
    """`invoke status` rows (noa_ops.status.Status): one block per environment, which fits 80
    columns (long values wrap, never cut), or with `wide` one row per environment."""
    if wide:
        out.print(status_table(rows))
        return
    table = Table(title="releases", title_justify="left", show_header=False, show_lines=True)
    table.add_column("environment", no_wrap=True, style="bold")
    table.add_column("release", overflow="fold")
    for row in rows:
        gate = "" if row.passed_gate is None else f" · gate {_mark(row.passed_gate)}"
        health = "" if row.healthy_now is None else f" · healthy now {_mark(row.healthy_now)}"
        lines = [f"{escape(row.target)} · {escape(row.state)}{gate}{health}"]
        if row.release:
            lines.append(f"{escape(row.release)}")
        if row.since:
            lines.append(f"since {escape(row.since)} via {escape(row.action)}")
        if row.detail:
            lines.append(escape(row.detail))
        table.add_row(escape(row.environment), "\n".join(lines))
    out.print(table)


def status_table(rows: list[Any]) -> Table:
    """One row per environment, every field a column (`invoke status --wide`)."""
    table = Table(title="releases", title_justify="left")
    columns = ("environment", "target", "state", "release", "since", "via", "gate", "healthy now")
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for row in rows:
        table.add_row(escape(row.environment), escape(row.target), escape(row.state), escape(row.release),
                      escape(row.since), escape(row.action), _mark(row.passed_gate), _mark(row.healthy_now),
                      escape(row.detail))
    return table


def print_images(rows: dict[str, str], title: str) -> None:
    """service -> image reference or ID (build, push)."""
    table = Table(title=title, title_justify="left")
    table.add_column("service")
    table.add_column("image", overflow="fold")
    for service, reference in rows.items():
        table.add_row(escape(service), escape(reference))
    out.print(table)
