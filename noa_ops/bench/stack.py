"""The bench's own compose stack: the operator CLI with a runtime config and state of its own.

Like the integration suite (tests/integration/suite.py), a `BenchStack` runs `invoke -f
<home>/invoke.yaml ... --env dev` from the checkout: dev with a compose project of the bench's
(noa-bench-<section>-<random>), an env file in the bench's home, a port offset at which every
published port was free, and NOA_STATE_DIR in that home (releases, locks, build records). So an
operator's noa-dev stack, its releases and its volumes are never touched, whether it runs or not;
`sandbox` removes the bench's stack with its volumes and its home afterwards.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from invoke.config import Config
from invoke.context import Context
from invoke.runners import Result

from .. import environments, images, paths, releases
from ..environments import Environment
from ..errors import NoaError
from ..ports import free_offset
from ..report import step
from ..shell import run

ENV = "dev"
# What a figure says instead of numbers when the tree has uncommitted changes.
DIRTY_NOTE = ("not run: the work tree has uncommitted changes, so every deploy would rebuild the images "
              "(a -dirty tag); commit or stash them, then run again")


def project_context(runtime: Path | None = None) -> Context:
    """A Context with invoke.yaml loaded (and the runtime config `runtime` over it), as the tasks get
    it (this runs outside `invoke`); commands never read the bench's terminal."""
    config = Config(project_location=paths.REPO, runtime_path=runtime,
                    overrides={"run": {"in_stream": False}})
    config.load_project()
    if runtime:
        config.load_runtime()
    return Context(config=config)


def last_line(result: Result) -> str:
    lines = (result.stderr or "").strip().splitlines() or (result.stdout or "").strip().splitlines()
    return lines[-1] if lines else "no output"


def checked(c: Context, command: str, what: str, **kwargs: Any) -> Result:
    """Run a command, its output hidden; on failure one line: what failed and its last line of output."""
    result = run(c, command, hide=True, **kwargs)
    if result.failed:
        raise NoaError(f"{what} failed (exit {result.exited}): {last_line(result)}")
    return result


@dataclass(frozen=True)
class BenchStack:
    home: Path
    project: str
    port_offset: int
    image_prefix: str = ""  # empty: invoke.yaml's (noa), so deploys use the images `invoke build` made

    @property
    def config_file(self) -> Path:
        return self.home / "invoke.yaml"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def release_dir(self) -> Path:
        return self.state / "releases"

    def environ(self) -> dict[str, str]:
        return {"NOA_STATE_DIR": str(self.state)}

    def settings(self) -> dict[str, Any]:
        dev: dict[str, Any] = {"project": self.project, "env_file": str(self.home / f"{ENV}.env"),
                               "port_offset": self.port_offset, "profiles": []}
        if self.image_prefix:
            dev["image_prefix"] = self.image_prefix
        return {"noa": {"environments": {ENV: dev}}}

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.settings()))

    def command(self, *args: str) -> str:
        """`<python> -m invoke -f <home>/invoke.yaml ARGS`: the operator CLI as this stack's operator."""
        return shlex.join([sys.executable, "-m", "invoke", "-f", str(self.config_file), *args])

    def invoke(self, c: Context, *args: str) -> Result:
        return checked(c, self.command(*args), f"invoke {' '.join(args)}", env=self.environ())

    def environment(self) -> Environment:
        """dev as the CLI sees it with this stack's runtime config."""
        return environments.select(project_context(self.config_file), ENV)

    def latest_release(self) -> releases.Release:
        ids = releases.release_ids(ENV, self.release_dir)
        if not ids:
            raise NoaError(f"no release of the bench's stack in {self.release_dir}: the deploy recorded none")
        return releases.load(ENV, ids[-1], self.release_dir)

    def rendered(self, release_id: str) -> Path:
        """The stored compose file of one of this stack's releases."""
        return releases.rendered_path(releases.load(ENV, release_id, self.release_dir), self.release_dir)


def clean_tag(c: Context) -> str | None:
    """The revision's image tag; None when the tree has uncommitted changes (see DIRTY_NOTE)."""
    tag = images.current_tag(c)
    return None if images.is_dirty(tag) else tag


def require_absent(c: Context, project: str) -> None:
    label = f"label=com.docker.compose.project={project}"
    listed = checked(c, f"docker ps -aq --filter {shlex.quote(label)}", "docker ps")
    if listed.stdout.strip():
        raise NoaError(f"compose project {project} already has containers: not the bench's to touch")


@contextlib.contextmanager
def sandbox(c: Context, section: str, image_prefix: str = "") -> Iterator[BenchStack]:
    """A stack of the section's own (nothing deployed yet); afterwards its containers, network,
    volumes and home are gone, whatever happened."""
    home = Path(tempfile.mkdtemp(prefix=f"noa-bench-{section}-"))
    stack = BenchStack(home, f"noa-bench-{section}-{uuid.uuid4().hex[:6]}", free_offset(), image_prefix)
    try:
        require_absent(c, stack.project)
        stack.write_config()
        step("bench", f"{section}: in a stack of its own, project {stack.project}, ports + "
                      f"{stack.port_offset} (an operator's noa-dev is not touched)")
        yield stack
    finally:
        purge(c, stack)
        shutil.rmtree(home, ignore_errors=True)


def purge(c: Context, stack: BenchStack) -> None:
    if not (stack.home / f"{ENV}.env").exists():
        return  # no deploy got as far as the env file, so nothing was created
    stopped = run(c, stack.command("stop", "--env", ENV, "--purge", "--yes"), env=stack.environ(), hide=True)
    if stopped.failed:
        step("bench", f"could not remove the bench's stack ({last_line(stopped)}): remove project "
                      f"{stack.project} and its volumes by hand")


def derived_image(c: Context, name: str, base: str, lines: Iterable[str]) -> str:
    """An image `name` FROM `base` with Dockerfile `lines` added (the classic builder: nothing to
    compile, and it needs no buildx)."""
    dockerfile = [f"FROM {base}", *lines]
    command = f"printf '%s\\n' {shlex.join(dockerfile)} | docker build -q -t {shlex.quote(name)} -"
    checked(c, command, f"building {name}", env={"DOCKER_BUILDKIT": "0"})
    return name


def remove_images(c: Context, names: Iterable[str]) -> None:
    chosen = list(names)
    if chosen:
        run(c, f"docker image rm -f {shlex.join(chosen)}", hide=True)
