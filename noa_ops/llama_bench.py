"""Measure the llama image on this machine: model load time and tokens per second.

`nox -s bench` runs it after `invoke build --service llama`. It starts its own llama container
(the image of the current revision, the dev environment's models volume read-only, the compose
file's hardening and limits) on a spare loopback port, so a running stack is left alone, and
prints a table next to the numbers measured outside containers. Nothing here asserts: timings
are facts about one machine, never a test.
"""

from __future__ import annotations

import json
import shlex
import statistics
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from invoke.config import Config
from invoke.context import Context
from rich.table import Table

from . import environments, images, models, paths
from .errors import NoaError
from .report import out, step
from .shell import run, run_checked

PORT = 19300
THREADS = 2
RUNS = 3
GENERATE_TOKENS = 128
# About 150 tokens, so prompt processing is measured on more than a handful.
PROMPT = " ".join(["Noa Server runs workflows, agents and a language model on a small machine."] * 10)
# Measured outside containers on a 2-core machine of this kind (GGML_NATIVE=OFF, 2 threads).
REFERENCE = {"load_s": 1.3, "generation_tps": 44.6, "prompt_tps": 97.5}
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Sample:
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


def container_command(image: str, volume: str, name: str) -> str:
    """docker run as compose runs llama: read-only, no capabilities, uid 10001, its limits."""
    words = [
        "docker", "run", "-d", "--rm", "--name", name, "--pull", "never",
        "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m",
        "--user", "10001:10001", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--cpus", "2", "--memory", "4g", "--pids-limit", "256",
        "-v", f"{volume}:{models.MOUNT}:ro", "-p", f"127.0.0.1:{PORT}:9300",
        "-e", f"LLAMA_ARG_THREADS={THREADS}", image,
    ]
    return shlex.join(words)


def wait_loaded(started: float, deadline_s: float = 300) -> float:
    """Seconds from `started` until /health answers 200 (503 while loading; refused before it listens)."""
    while time.perf_counter() - started < deadline_s:
        try:
            status, _ = fetch(f"http://127.0.0.1:{PORT}/health", timeout=2)
        except OSError:
            status = 0
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise NoaError(f"llama did not load the model within {deadline_s:.0f} s")


def sample() -> Sample:
    body = {"prompt": PROMPT, "n_predict": GENERATE_TOKENS, "temperature": 0, "ignore_eos": True,
            "cache_prompt": False}
    status, answer = fetch(f"http://127.0.0.1:{PORT}/completion", body)
    if status != 200 or not isinstance(answer, dict):
        raise NoaError(f"completion failed with HTTP {status}")
    timings = answer["timings"]
    return Sample(float(timings["prompt_per_second"]), float(timings["predicted_per_second"]))


def table(load_s: float, samples: list[Sample]) -> Table:
    measured = {
        "load_s": load_s,
        "generation_tps": statistics.median(s.generation_tps for s in samples),
        "prompt_tps": statistics.median(s.prompt_tps for s in samples),
    }
    labels = {"load_s": "load to 200 /health (s)", "generation_tps": "generation (tokens/s)",
              "prompt_tps": "prompt processing (tokens/s)"}
    result = Table(title=f"llama in its container: {models.DEFAULT_MODEL.file_name}, {THREADS} threads, "
                         f"median of {len(samples)}", title_justify="left")
    for column in ("metric", "container", "reference", "container/reference"):
        result.add_column(column, justify="left" if column == "metric" else "right")
    for key, label in labels.items():
        ratio = measured[key] / REFERENCE[key]
        result.add_row(label, f"{measured[key]:.2f}", f"{REFERENCE[key]:.2f}", f"{ratio:.0%}")
    return result


def project_context() -> Context:
    """A Context with invoke.yaml loaded, as the tasks get it (this runs outside `invoke`)."""
    config = Config(project_location=paths.REPO)
    config.load_project()
    return Context(config=config)


def main() -> None:
    c = project_context()
    env = environments.select(c, "dev")
    image = images.image_name(env, "llama", images.current_tag(c))
    model = models.fetch_default(c)
    models.place(c, env, model, models.DEFAULT_MODEL.file_name, models.DEFAULT_MODEL.sha256)
    name = f"noa-llama-bench-{int(time.time())}"
    step("bench", f"starting {image} on 127.0.0.1:{PORT}")
    started = time.perf_counter()
    run_checked(c, container_command(image, models.volume_name(env), name), "starting llama", hide=True)
    try:
        # From `docker run` on: the container's start is part of what a deploy waits for.
        load_s = wait_loaded(started)
        fetch(f"http://127.0.0.1:{PORT}/completion", {"prompt": "warm up", "n_predict": 4})
        samples = [sample() for _ in range(RUNS)]
    finally:
        run(c, f"docker rm -f {name}", hide=True)
    out.print(table(load_s, samples))


if __name__ == "__main__":
    try:
        main()
    except NoaError as error:
        raise SystemExit(f"bench: {error}") from None
