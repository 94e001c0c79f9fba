"""python -m noa_ops.bench [--runs N] [--only SECTION ...] [--cold]: run the sections, print the
table, write build/bench/<UTC time>.json. One line on error, exit 1."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from ..cluster import ClusterError
from ..errors import NoaError
from ..report import out, step
from . import build, cli, cluster, deploy, faults, figures, images, llama, validate

SECTIONS: dict[str, Callable[[int], list[figures.Figure]]] = {
    "cli": cli.figures, "validate": validate.figures, "images": images.figures, "llama": llama.figures,
    "build": build.figures, "deploy": deploy.figures, "rollback": deploy.rollback, "faults": faults.figures,
    "cluster": cluster.figures}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m noa_ops.bench", description=__doc__)
    p.add_argument("--runs", type=int, default=3, help="samples per figure (default 3)")
    p.add_argument("--only", action="append", choices=sorted(SECTIONS), help="this section only (repeatable)")
    p.add_argument("--cold", action="store_true",
                   help=f"build: also the cold build of every image (no cache; {build.COLD_TIME})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.runs < 1:
        print("bench: --runs must be at least 1", file=sys.stderr)
        return 2
    measured: list[figures.Figure] = []
    sections: dict[str, Callable[[int], list[figures.Figure]]] = {
        **SECTIONS, "build": functools.partial(build.figures, cold=args.cold)}
    try:
        for name in args.only or list(SECTIONS):
            measured += sections[name](args.runs)
    except (NoaError, ClusterError) as error:
        print(f"bench: {error}".splitlines()[0], file=sys.stderr)
        return 1
    data = figures.report(measured)
    out.print(figures.table(data, measured))
    for line in figures.notes(measured):
        out.print(line, markup=False, highlight=False)
    step("bench", f"written to {figures.write(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
