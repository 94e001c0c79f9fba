"""llama's figures: the image of this revision in its container, model load and tokens per second.

It starts its own llama container (the dev environment's models volume read-only, the compose
file's hardening and limits) on a spare loopback port, so a running stack is left alone.
"""

from __future__ import annotations

import json
import shlex
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from invoke.config import Config
from invoke.context import Context

from .. import environments, images, models, paths
from ..errors import NoaError
from ..report import step
from ..shell import run, run_checked
from .figures import Figure

PORT = 19300
THREADS = 2
SECTION = "llama"
GENERATE_TOKENS = 128
# About 150 tokens, so prompt processing is measured on more than a handful.
PROMPT = " ".join(["Noa Server runs workflows, agents and a language model on a small machine."] * 10)
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


def project_context() -> Context:
    """A Context with invoke.yaml loaded, as the tasks get it (this runs outside `invoke`)."""
    config = Config(project_location=paths.REPO)
    config.load_project()
    return Context(config=config)


def figures(runs: int) -> list[Figure]:
    c = project_context()
    env = environments.select(c, "dev")
    image = images.image_name(env, "llama", images.current_tag(c))
    model = models.fetch_default(c)
    models.place(c, env, model, models.DEFAULT_MODEL.file_name, models.DEFAULT_MODEL.sha256)
    loads: list[float] = []
    samples: list[Sample] = []
    for index in range(runs):
        name = f"noa-llama-bench-{int(time.time())}-{index}"
        step("bench", f"llama: starting {image} on 127.0.0.1:{PORT} (run {index + 1} of {runs})")
        started = time.perf_counter()
        run_checked(c, container_command(image, models.volume_name(env), name), "starting llama", hide=True)
        try:
            # From `docker run` on: the container's start is part of what a deploy waits for.
            loads.append(wait_loaded(started))
            fetch(f"http://127.0.0.1:{PORT}/completion", {"prompt": "warm up", "n_predict": 4})
            samples.append(sample())
        finally:
            run(c, f"docker rm -f {name}", hide=True)
    how = f"{models.DEFAULT_MODEL.file_name}, {THREADS} threads, container"
    return [Figure(SECTION, "load to 200 /health", "s", tuple(loads), note=f"from docker run; {how}"),
            Figure(SECTION, "prompt processing", "tokens/s", tuple(s.prompt_tps for s in samples), note=how),
            Figure(SECTION, "generation", "tokens/s", tuple(s.generation_tps for s in samples),
                   note=f"{GENERATE_TOKENS} tokens; {how}")]
