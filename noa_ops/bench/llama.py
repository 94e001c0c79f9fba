"""llama's figures: the hardened container against the same llama-server run bare on the host.

Both sides serve the same model file with the same settings and get the same prompt, in pairs
(container, bare, container, bare, ...); each ratio is container / bare within its pair.
- container: the image of this revision as compose runs it (read-only, no capabilities, uid 10001,
  its limits, the dev models volume read-only) on a spare loopback port, so a running stack is left
  alone; from `docker run` on, since a deploy waits for the container's start too.
- bare: the image's own llama-server and the C++ and OpenMP runtimes it links (libstdc++, libgcc_s,
  libgomp), copied out of the image once (`docker create`, `docker cp`) into
  build/bench/llama-server/<image id>/ and run from there with LD_LIBRARY_PATH; the host's C
  library (it must be at least the image's, Debian bookworm's glibc 2.36). The environment is the
  image's (OMP_WAIT_POLICY and its LLAMA_ARG_* settings) with compose's settings over it; the model
  is the cached file models.fetch_default verified, the one the volume holds a copy of.
The settings are the compose file's defaults for llama (LLAMA_ARG_THREADS and the rest).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from invoke.context import Context

from .. import environments, images, models, paths, ports
from ..errors import NoaError
from ..report import step
from ..shell import run
from . import stack
from .figures import OUT_DIR, Figure
from .pairs import RATIO_UNIT, alternate, ratios
from .stack import project_context

PORT, BARE_PORT = 19300, 19301
SECTION = "llama"
GENERATE_TOKENS = 128
# About 150 tokens, so prompt processing is measured on more than a handful.
PROMPT = " ".join(["Noa Server runs workflows, agents and a language model on a small machine."] * 10)
SERVER = "/usr/local/bin/llama-server"
LIBRARIES = ("libstdc++.so.6", "libgcc_s.so.1", "libgomp.so.1")
BINARIES_DIR = OUT_DIR / "llama-server"
_DEFAULT = re.compile(r"\$\{\w+:-([^}]*)\}")
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Sample:
    load_s: float
    prompt_tps: float
    generation_tps: float


def fetch(url: str, body: dict[str, Any] | None = None, timeout: float = 300) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with _opener.open(request, timeout=timeout) as reply:
            return int(reply.status), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def compose_settings(compose_file: Path = paths.REPO / paths.COMPOSE_FILE) -> dict[str, str]:
    """llama's LLAMA_ARG_* settings as the compose file gives them by default (the model aside: each
    side names its own path to the same file)."""
    loaded = yaml.safe_load(compose_file.read_text())
    environment = loaded["services"]["llama"]["environment"]
    settings = {}
    for name, value in environment.items():
        if name.startswith("LLAMA_ARG_") and name != "LLAMA_ARG_MODEL":
            match = _DEFAULT.fullmatch(str(value))
            settings[name] = match.group(1) if match else str(value)
    return settings


def container_command(image: str, volume: str, name: str, settings: dict[str, str]) -> str:
    """docker run as compose runs llama: read-only, no capabilities, uid 10001, its limits."""
    words = [
        "docker", "run", "-d", "--rm", "--name", name, "--pull", "never",
        "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m",
        "--user", "10001:10001", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--cpus", "2", "--memory", "4g", "--pids-limit", "256",
        "-v", f"{volume}:{models.MOUNT}:ro", "-p", f"127.0.0.1:{PORT}:9300",
    ]
    for key, value in settings.items():
        words += ["-e", f"{key}={value}"]
    return shlex.join([*words, image])


def image_environment(c: Context, image: str) -> dict[str, str]:
    command = shlex.join(["docker", "image", "inspect", "--format", "{{json .Config.Env}}", image])
    answer = stack.checked(c, command, f"docker image inspect {image}")
    pairs = (item.partition("=") for item in json.loads(answer.stdout or "[]"))
    return {key: value for key, _, value in pairs}


def bare_environment(image_env: dict[str, str], settings: dict[str, str], directory: Path,
                     model: Path) -> dict[str, str]:
    """The image's environment and compose's settings, on 127.0.0.1:BARE_PORT with the host's model
    path, the copied libraries first; nothing else of the caller's environment (an LLAMA_* of the
    shell must not change the bare side only)."""
    env = {key: value for key, value in image_env.items() if key != "PATH"}
    env.update(settings)
    env.update({"LLAMA_ARG_HOST": "127.0.0.1", "LLAMA_ARG_PORT": str(BARE_PORT),
                "LLAMA_ARG_MODEL": str(model), "LD_LIBRARY_PATH": str(directory),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    return env


def library_dir() -> str:
    return f"/usr/lib/{platform.machine()}-linux-gnu"


def copy_commands(container: str, target: Path) -> list[str]:
    """`docker cp -L` (symbolic links followed) of the server and each library it links."""
    sources = [SERVER, *(f"{library_dir()}/{name}" for name in LIBRARIES)]
    return [shlex.join(["docker", "cp", "-L", f"{container}:{source}", str(target / Path(source).name)])
            for source in sources]


def bare_binary(c: Context, image: str) -> Path:
    """The directory holding the image's llama-server and its libraries, copied out once per image ID."""
    image_id = images.image_id(c, image)
    if image_id is None:
        raise NoaError(f"no image {image}: build it first (`invoke build`)")
    directory = BINARIES_DIR / image_id.removeprefix("sha256:")[:12]
    if (directory / "llama-server").is_file():
        return directory
    partial = directory.with_name(f".{directory.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    name = f"noa-bench-llama-copy-{uuid.uuid4().hex[:6]}"
    stack.checked(c, shlex.join(["docker", "create", "--name", name, image]), "docker create")
    try:
        for command in copy_commands(name, partial):
            stack.checked(c, command, "docker cp")
    finally:
        run(c, f"docker rm -f {name}", hide=True)
    os.replace(partial, directory)
    return directory


def require_free(port: int) -> None:
    if not ports.is_free(port):
        raise NoaError(f"127.0.0.1:{port} is taken: stop what listens there, then run the bench again")


def wait_loaded(started: float, port: int, alive: Callable[[], bool] | None = None,
                deadline_s: float = 300) -> float:
    """Seconds from `started` until /health answers 200 (503 while loading; refused before it listens)."""
    while time.perf_counter() - started < deadline_s:
        if alive is not None and not alive():
            raise NoaError(f"llama-server on {port} exited while loading")
        try:
            status, _ = fetch(f"http://127.0.0.1:{port}/health", timeout=2)
        except OSError:
            status = 0
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise NoaError(f"llama did not load the model within {deadline_s:.0f} s")


def completion(port: int) -> tuple[float, float]:
    """(prompt tokens/s, generation tokens/s) of one completion of PROMPT, after a short warm-up."""
    fetch(f"http://127.0.0.1:{port}/completion", {"prompt": "warm up", "n_predict": 4})
    body = {"prompt": PROMPT, "n_predict": GENERATE_TOKENS, "temperature": 0, "ignore_eos": True,
            "cache_prompt": False}
    status, answer = fetch(f"http://127.0.0.1:{port}/completion", body)
    if status != 200 or not isinstance(answer, dict):
        raise NoaError(f"completion on {port} failed with HTTP {status}")
    timings = answer["timings"]
    return float(timings["prompt_per_second"]), float(timings["predicted_per_second"])


def in_container(c: Context, command: str, name: str) -> Sample:
    require_free(PORT)
    started = time.perf_counter()
    stack.checked(c, command, "starting llama's container")
    try:
        load = wait_loaded(started, PORT)
        return Sample(load, *completion(PORT))
    finally:
        run(c, f"docker rm -f {name}", hide=True)


def bare(directory: Path, env: dict[str, str]) -> Sample:
    require_free(BARE_PORT)
    with (directory / "last-run.log").open("wb") as log:
        started = time.perf_counter()
        server = subprocess.Popen([str(directory / "llama-server")], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            load = wait_loaded(started, BARE_PORT, alive=lambda: server.poll() is None)
            return Sample(load, *completion(BARE_PORT))
        except NoaError as error:
            raise NoaError(f"{error}; see {directory / 'last-run.log'}") from None
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def check_bare_runs(c: Context, directory: Path, env: dict[str, str]) -> None:
    """`llama-server --version` bare, once: a binary this host cannot run is one line, not a hang."""
    result = run(c, shlex.join([str(directory / "llama-server"), "--version"]), env=env, hide=True)
    if result.failed:
        raise NoaError(f"the image's llama-server does not run on this host: {stack.last_line(result)}")


def ratio_figures(containers: list[Sample], bares: list[Sample], how: str) -> list[Figure]:
    """Container, bare and container / bare per pair, for load, prompt and generation."""
    result = []
    for field, name, unit in (("load_s", "load to 200 /health", "s"),
                              ("prompt_tps", "prompt processing", "tokens/s"),
                              ("generation_tps", "generation", "tokens/s")):
        inside = [getattr(sample, field) for sample in containers]
        outside = [getattr(sample, field) for sample in bares]
        from_start = f"{how}; from docker run" if field == "load_s" else how
        result += [Figure(SECTION, f"{name}, container", unit, tuple(inside), note=from_start),
                   Figure(SECTION, f"{name}, bare", unit, tuple(outside), note=how),
                   Figure(SECTION, f"{name}, container / bare", RATIO_UNIT, ratios(inside, outside),
                          note="per pair")]
    return result


def figures(runs: int) -> list[Figure]:
    c = project_context()
    env = environments.select(c, "dev")
    image = images.image_name(env, "llama", images.current_tag(c))
    model = models.fetch_default(c)
    models.place(c, env, model, models.DEFAULT_MODEL.file_name, models.DEFAULT_MODEL.sha256)
    settings = compose_settings()
    directory = bare_binary(c, image)
    bare_env = bare_environment(image_environment(c, image), settings, directory, model)
    check_bare_runs(c, directory, bare_env)
    count = iter(range(1, runs + 1))

    def container_run() -> Sample:
        name = f"noa-llama-bench-{uuid.uuid4().hex[:6]}"
        step("bench", f"llama: run {next(count)} of {runs}, {image} on 127.0.0.1:{PORT}, then bare on "
                      f"{BARE_PORT}")
        return in_container(c, container_command(image, models.volume_name(env), name, settings), name)

    containers, bares = alternate(runs, container_run, lambda: bare(directory, bare_env))
    how = f"{models.DEFAULT_MODEL.file_name}, {settings.get('LLAMA_ARG_THREADS', '?')} threads"
    return ratio_figures(containers, bares, how)
