"""Builds: a warm rebuild after a one-line change, the llama compile alone, and (with --cold) a cold
build of every image of the stack. Images made here are tagged noa-bench*/... and removed again, so
the operator's noa/<service>:<tag> images stay as they were; the build cache is only added to.

- warm rebuild: in a temporary git worktree of HEAD (the wheelhouse copied in), a comment line
  appended to services/noa_mcp/__init__.py (a new one each run, so no run hits the previous one's
  cache), then `invoke build --service mcp` there, with an image prefix and state of the bench's.
  One unmeasured build first: the new checkout's build context reaches the builder whole once.
- llama compile: the llama-build stage (its toolchain, from the cache) built as an image with
  `docker compose build`, then docker/llama/build-llama-server run in it on build/llama's source,
  as the stage's RUN does. (`docker build --no-cache-filter llama-build` would say the same in one
  step, but it needs buildx, which this machine lacks: Docker without buildx builds with the
  classic builder, whose cache is not BuildKit's.)
- cold build: `docker compose build --no-cache` of the stack's images, N=1 (COLD_TIME).
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from invoke.context import Context

from .. import catalogue, images, models, paths
from .. import compose_commands as compose
from ..errors import NoaError
from ..report import step
from ..shell import run
from . import stack
from .figures import Figure, timed
from .stack import BenchStack

SECTION = "build"
WARM_TARGET = 20.0
CHANGED_FILE = Path("services/noa_mcp/__init__.py")
CHANGED_SERVICE = "mcp"
WHEELHOUSE = Path("build/wheelhouse")
LLAMA_SOURCE = Path("build/llama/llama-source.tar.gz")
LLAMA_STAGE = "llama-build"
BENCH_PREFIX, COLD_PREFIX = "noa-bench", "noa-bench-cold"
WARM_NAME = f"warm rebuild of {CHANGED_SERVICE} after a one-line change"
COMPILE_NAME = "llama-server compile alone"
COLD_NAME = f"cold build, the stack's {len(catalogue.names())} images"
COLD_TIME = "about 7 minutes on 2 cores"  # measured 384 s, most of it the llama compile
COLD_NOTE = f"not run (pass --cold: it takes {COLD_TIME})"


@contextlib.contextmanager
def temporary_worktree(c: Context) -> Iterator[Path]:
    """A detached worktree of HEAD with the wheelhouse in it; removed afterwards."""
    wheelhouse = paths.REPO / WHEELHOUSE
    if not wheelhouse.is_dir():
        raise NoaError(f"no {WHEELHOUSE}: `invoke build` fills it")
    scratch = Path(tempfile.mkdtemp(prefix="noa-bench-tree-"))
    tree = scratch / "tree"
    stack.checked(c, shlex.join(["git", "worktree", "add", "--detach", str(tree), "HEAD"]),
                  "git worktree add")
    try:
        shutil.copytree(wheelhouse, tree / WHEELHOUSE)
        yield tree
    finally:
        run(c, shlex.join(["git", "worktree", "remove", "--force", str(tree)]), hide=True)
        shutil.rmtree(scratch, ignore_errors=True)


def change_one_line(path: Path) -> None:
    with path.open("a") as handle:
        handle.write(f"# bench: a one-line change {uuid.uuid4().hex}\n")


def rebuild_command(bench: BenchStack, tree: Path) -> str:
    """`invoke build --service mcp` in the worktree, as its own checkout (its tasks.py and noa_ops)."""
    return f"cd {shlex.quote(str(tree))} && {bench.command('build', '--service', CHANGED_SERVICE)}"


def warm_rebuilds(c: Context, runs: int) -> tuple[float, ...]:
    # The worktree's tree is changed, so its build is tagged <revision>-dirty.
    image = f"{BENCH_PREFIX}/{CHANGED_SERVICE}:{images.image_tag(images.git_revision(c), True)}"
    with temporary_worktree(c) as tree, tempfile.TemporaryDirectory(prefix="noa-bench-build-") as home:
        bench = BenchStack(Path(home), "noa-bench-build", 0, BENCH_PREFIX)
        bench.write_config()
        command = rebuild_command(bench, tree)

        def rebuild() -> float:
            change_one_line(tree / CHANGED_FILE)
            return timed(lambda: stack.checked(c, command, f"invoke build --service {CHANGED_SERVICE}",
                                               env=bench.environ()))

        try:
            step("bench", f"build: {CHANGED_SERVICE} in a worktree of HEAD, once unmeasured, then "
                          f"{runs} runs")
            rebuild()
            return tuple(rebuild() for _ in range(runs))
        finally:
            stack.remove_images(c, [image])


def stage_compose(image: str) -> dict[str, Any]:
    """A compose file with one service: the llama-build stage, built as the stack's images are (the
    same base image argument, so the same cache)."""
    build = {"context": str(paths.REPO), "dockerfile": "docker/Dockerfile", "target": LLAMA_STAGE,
             "args": {"BASE_IMAGE": models.HELPER_IMAGE}}
    return {"services": {LLAMA_STAGE: {"image": image, "build": build}}}


def stage_build_command(file: Path) -> str:
    return shlex.join(["docker", "compose", "-p", "noa-bench-build", "-f", str(file), "build", LLAMA_STAGE])


def compile_command(image: str, source: Path) -> str:
    """build-llama-server as the stage's RUN runs it, in a throwaway container of the stage."""
    return shlex.join(["docker", "run", "--rm", "--network", "none",
                       "-v", f"{source}:/tmp/llama-source.tar.gz:ro",
                       image, "build-llama-server", "/tmp/llama-source.tar.gz", "/tmp/llama-out"])


def builder(c: Context) -> dict[str, str]:
    """The builder settings `invoke build` gives compose (images.build)."""
    return {"COMPOSE_BAKE": "false", **images.builder_variables(c)}


def llama_compiles(c: Context, runs: int) -> tuple[float, ...]:
    source = paths.REPO / LLAMA_SOURCE
    if not source.is_file():
        raise NoaError(f"no {LLAMA_SOURCE}: `invoke build` fetches it")
    image = f"{BENCH_PREFIX}/{LLAMA_STAGE}:{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="noa-bench-stage-") as scratch:
            file = Path(scratch) / "compose.yaml"
            file.write_text(yaml.safe_dump(stage_compose(image)))
            stack.checked(c, stage_build_command(file), f"building the {LLAMA_STAGE} stage", env=builder(c))
        step("bench", f"build: compiling llama-server, {runs} runs")
        command = compile_command(image, source)
        return tuple(timed(lambda: stack.checked(c, command, "compiling llama-server")) for _ in range(runs))
    finally:
        stack.remove_images(c, [image])


def cold_build(c: Context) -> tuple[float, ...]:
    """`docker compose build --no-cache` of the stack, once, tagged noa-bench-cold/* (env file and
    state of the bench's: compose interpolates the file's secrets even to build)."""
    tag = images.current_tag(c)
    services = catalogue.names()
    for script in (images.WHEELHOUSE_SCRIPT, images.LLAMA_SOURCE_SCRIPT):  # host caches, not image builds
        stack.checked(c, script, script, env={"PYTHON": sys.executable})
    with tempfile.TemporaryDirectory(prefix="noa-bench-cold-") as home:
        bench = BenchStack(Path(home), "noa-bench-cold", 0, COLD_PREFIX)
        bench.write_config()
        bench.invoke(c, "env-init", "--env", stack.ENV)
        env = bench.environment()
        variables = {**compose.image_variables(env, tag), **builder(c)}
        step("bench", f"build: cold build of {', '.join(services)} (no cache)")
        try:
            command = compose.build(env, services, no_cache=True)
            return (timed(lambda: stack.checked(c, command, "docker compose build --no-cache",
                                                env=variables)),)
        finally:
            stack.remove_images(c, [images.image_name(env, name, tag) for name in services])


def attempt(name: str, target: float | None, note: str, measure: Callable[[], tuple[float, ...]]) -> Figure:
    try:
        return Figure(SECTION, name, "s", measure(), target, note=note)
    except NoaError as error:
        return Figure(SECTION, name, "s", target=target, note=f"failed: {error}".splitlines()[0])


def figures(runs: int, cold: bool = False) -> list[Figure]:
    c = stack.project_context()
    result = [
        attempt(WARM_NAME, WARM_TARGET, f"`invoke build --service {CHANGED_SERVICE}` in a worktree of HEAD, "
                f"a new comment line in {CHANGED_FILE} each run", lambda: warm_rebuilds(c, runs)),
        # Minutes per sample: once per bench run, whatever --runs says.
        attempt(COMPILE_NAME, None, f"N=1: docker/llama/build-llama-server in the {LLAMA_STAGE} stage's "
                f"image (all cores), as its RUN does", lambda: llama_compiles(c, 1)),
    ]
    if not cold:
        return [*result, Figure(SECTION, COLD_NAME, "s", note=COLD_NOTE)]
    return [*result, attempt(COLD_NAME, None, "N=1: `docker compose build --no-cache` of the stack (the "
                             "wheelhouse and llama source already on the host)", lambda: cold_build(c))]
