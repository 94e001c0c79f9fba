"""What the tasks print: rich tables for people, JSON for machines.

Results go to stdout; progress goes to stderr, so `--json` output stays parseable.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .health import Check, Verdict

out = Console(highlight=False)
progress = Console(stderr=True, highlight=False)


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
