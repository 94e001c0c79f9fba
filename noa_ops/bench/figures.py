"""Figures of one benchmark run: N samples each, shown as min/median/max beside a target, one
table for people and one JSON file (build/bench/<UTC time>.json) with the machine and revision.

Nothing here asserts: a figure is a fact about one machine on one day, and a missed target is a
row that says so, never a failed test.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from .. import paths

OUT_DIR = paths.REPO / "build" / "bench"


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    unit: str
    samples: tuple[float, ...] = ()
    target: float | None = None  # the median should be under it (same unit)
    note: str = ""  # how it was measured, or why there are no samples
    extra: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> tuple[float, float, float] | None:
        if not self.samples:
            return None
        return min(self.samples), statistics.median(self.samples), max(self.samples)

    def verdict(self) -> str:
        stats = self.stats()
        if self.target is None or stats is None:
            return ""
        return f"{'meets' if stats[1] < self.target else 'MISSES'} < {self.target:g}"


def timed(action: Callable[[], object]) -> float:
    """Seconds `action()` took."""
    started = time.monotonic()
    action()
    return time.monotonic() - started


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, memory, OS and kernel."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory_kib = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                       if line.startswith("MemTotal:")), 0)
    release = dict(line.split("=", 1) for line in _read("/etc/os-release").splitlines() if "=" in line)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 1024 / 1024, 1),
            "os": release.get("PRETTY_NAME", "").strip('"'), "kernel": platform.release()}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def revision() -> str:
    answer = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=paths.REPO, capture_output=True,
                            text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=paths.REPO, capture_output=True, text=True,
                           check=False).stdout.strip()
    return (answer.stdout.strip() or "unknown") + ("-dirty" if dirty else "")


def report(figures: list[Figure]) -> dict[str, Any]:
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
            "revision": revision(),
            "figures": [{**asdict(f), "samples": list(f.samples), "n": len(f.samples),
                         "min_median_max": f.stats()} for f in figures]}


def write(data: dict[str, Any], directory: Path = OUT_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{data['time'].replace(':', '')}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def shown(value: float) -> str:
    """A figure as the table shows it: three significant digits under 1 (0.138 s beside a 0.15 s
    target), one decimal up to 1000, whole numbers beyond."""
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"


def table(data: dict[str, Any], figures: list[Figure]) -> Table:
    where = data["machine"]
    result = Table(title=f"nox -s bench at {data['revision']}: {where['cores']} cores, {where['cpu']}, "
                         f"{where['os']}", title_justify="left")
    for column in ("section", "figure", "N", "min", "median", "max", "unit", "target"):
        result.add_column(column, justify="right" if column in ("N", "min", "median", "max") else "left",
                          overflow="fold")
    for number, figure in enumerate(figures, start=1):
        stats = figure.stats()
        numbers = [shown(value) for value in stats] if stats else ["-", "-", "-"]
        result.add_row(figure.section, f"{figure.name} [{number}]", str(len(figure.samples)), *numbers,
                       figure.unit, figure.verdict())
    return result


def notes(figures: list[Figure]) -> list[str]:
    """How each figure was measured (or why it has no samples), numbered as in the table."""
    return [f"[{number}] {figure.note}" for number, figure in enumerate(figures, start=1) if figure.note]
