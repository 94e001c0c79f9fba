"""The guides: generated parts are fresh, and every command they show exists with the flags shown.

Commands are taken from fenced code blocks and from inline code spans of README.md and
docs/*.md. `invoke` lines are parsed with invoke's own parser over the Collection of tasks.py;
`nox` lines with nox's own argument parser, and their sessions looked up in nox's registry.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import nox.registry
import pytest
from invoke.parser import Parser, ParserContext  # type: ignore[attr-defined]
from invoke.program import Program
from nox._options import options as nox_options

from noa_ops import catalogue, docgen

from .helpers import REPO

GUIDES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
PLACEHOLDER = re.compile(r"<[^>]+>")


def command_lines(path: Path) -> Iterator[str]:
    text = path.read_text()
    for block in FENCE.findall(text):
        yield from (line.strip() for line in block.splitlines())
    yield from INLINE.findall(FENCE.sub("", text))


def commands(tool: str) -> list[tuple[str, list[str]]]:
    """(where, arguments after the tool) for every use of `tool` (invoke or nox) in the guides."""
    found = []
    for path in GUIDES:
        for line in command_lines(path):
            for segment in SEPARATORS.split(line.replace("[", " ").replace("]", " ")):
                try:
                    words = shlex.split(PLACEHOLDER.sub("VALUE", segment))
                except ValueError:
                    continue
                if words and Path(words[0]).name == tool:
                    found.append((f"{path.name}: {segment}", words[1:]))
    return found


def invoke_parser() -> tuple[Parser, set[str]]:
    import tasks

    program = Program(namespace=tasks.ns)
    parser = Parser(initial=ParserContext(args=program.core_args()), contexts=tasks.ns.to_contexts(),
                    ignore_unknown=False)
    aliases = {alias for names in tasks.ns.task_names.values() for alias in names}
    names = set(tasks.ns.task_names) | aliases
    return parser, names


def test_the_guides_show_commands() -> None:
    assert commands("invoke") and commands("nox")
    guides = ("INFRASTRUCTURE_OVERVIEW.md", "DOCKER_GUIDE.md", "HEALTH_CHECKS.md", "ENVIRONMENT_VARIABLES.md")
    for name in guides:
        assert (REPO / "docs" / name).is_file(), name


@pytest.mark.parametrize(("where", "args"), commands("invoke"), ids=lambda value: str(value)[:80])
def test_every_invoke_command_exists_with_its_flags(where: str, args: list[str]) -> None:
    parser, names = invoke_parser()
    if args[:1] in (["--help"], ["-h"]):
        assert len(args) < 2 or args[1] == "VALUE" or args[1] in names, where
        return
    parser.parse_argv(args)  # ParseError names an unknown task or flag


def nox_arguments(args: list[str]) -> argparse.Namespace:
    with contextlib.redirect_stderr(io.StringIO()) as errors:
        try:
            return nox_options.parser().parse_args(args)
        except SystemExit:
            raise AssertionError(errors.getvalue()) from None


@pytest.mark.parametrize(("where", "args"), commands("nox"), ids=lambda value: str(value)[:80])
def test_every_nox_command_exists_with_its_flags(where: str, args: list[str]) -> None:
    import noxfile  # noqa: F401  (registers the sessions)

    parsed = nox_arguments(args)
    registered = set(nox.registry.get())
    for session in getattr(parsed, "sessions", None) or []:
        assert session in registered, f"{where}: no nox session {session!r}; known: {sorted(registered)}"


def test_generated_files_are_fresh() -> None:
    stale = [str(path.relative_to(REPO)) for path in docgen.stale()]
    assert stale == [], f"stale: {stale}; regenerate with `invoke docs`"


def test_the_guides_carry_their_generated_blocks() -> None:
    overview = (REPO / docgen.OVERVIEW_DOC).read_text()
    for block in ("service-map", "mermaid", "resources", "environments"):
        assert f"<!-- generated:{block} -->" in overview, block
    health = (REPO / docgen.HEALTH_DOC).read_text()
    for block in ("compose-probes", "readiness-checks"):
        assert f"<!-- generated:{block} -->" in health, block
    for service in catalogue.SERVICES:
        assert f"| {service.name} | {service.port} |" in overview


def test_the_readme_keeps_its_two_fresh_machine_commands() -> None:
    blocks = FENCE.findall((REPO / "README.md").read_text())
    assert blocks[:2] == ["scripts/bootstrap && .venv/bin/invoke deploy --env dev\n",
                          "scripts/bootstrap && .venv/bin/nox\n"]


def test_the_performance_section_has_a_row_of_every_bench_section() -> None:
    """The Overview's table is one run of `nox -s bench`: each section of the bench shows in it, so
    a section added to the bench without a measured row is caught here."""
    from noa_ops.bench.__main__ import SECTIONS

    text = (REPO / "docs" / "INFRASTRUCTURE_OVERVIEW.md").read_text()
    assert "\n## Performance\n" in text, "the Overview has no Performance section"
    section = text.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    shown = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    assert set(SECTIONS) <= shown, f"no rows for {sorted(set(SECTIONS) - shown)}"
