"""Image sizes: each image of this revision, uncompressed (`docker image inspect` Size) and as
gzip -6 compresses `docker save` of it (about what a registry transfers), beside the base image.
Sizes do not vary between runs, so N is 1. Target: an app image under 55 MB compressed."""

from __future__ import annotations

import gzip
import subprocess

from .. import catalogue, environments, images
from ..errors import NoaError
from .figures import Figure
from .stack import project_context

SECTION = "images"
COMPRESSED_TARGET_MB = 55.0
APP_IMAGES = ("mcp", "claude-flow", "agenticos")
MB = 1_000_000


def uncompressed_mb(reference: str) -> float | None:
    """Bytes of the image as the engine stores it, or None when there is no such image."""
    answer = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", reference],
                            capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        return None
    return int(answer.stdout.strip()) / MB


def compressed_mb(reference: str, chunk: int = 1 << 20) -> float:
    """Bytes of gzip -6 over `docker save` of the image, streamed (nothing written to disk)."""
    saving = subprocess.Popen(["docker", "save", reference], stdout=subprocess.PIPE)
    assert saving.stdout is not None
    counter = _Counter()
    with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=6) as compressor:
        while block := saving.stdout.read(chunk):
            compressor.write(block)
    if saving.wait() != 0:
        raise NoaError(f"docker save {reference} failed")
    return counter.written / MB


class _Counter:
    """A file that only counts what is written to it."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: nothing is kept."""


def image_figures(name: str, reference: str, target: float | None) -> list[Figure]:
    """Both sizes of one image; an image this revision has not built (the monitoring profile's,
    until a deploy with it) is a row without samples that says so, an app image an error."""
    size = uncompressed_mb(reference)
    if size is None and target is not None:
        raise NoaError(f"no image {reference}: build it first (`invoke build`)")
    if size is None:
        return [Figure(SECTION, f"{name}, uncompressed", "MB",
                       note=f"{reference} not built at this revision (a deploy with the monitoring "
                            f"profile builds it)")]
    return [Figure(SECTION, f"{name}, uncompressed", "MB", (size,), note=reference),
            Figure(SECTION, f"{name}, gzip-compressed", "MB", (compressed_mb(reference),), target=target,
                   note="gzip -6 of `docker save`")]


def figures(runs: int) -> list[Figure]:
    del runs  # sizes are the same every run
    c = project_context()
    env = environments.select(c, "dev")
    tag = images.current_tag(c)
    measured = image_figures("base image", "debian:bookworm-slim", None)
    for service in catalogue.compose_services():
        target = COMPRESSED_TARGET_MB if service.name in APP_IMAGES else None
        measured += image_figures(service.name, images.image_name(env, service.name, tag), target)
    return measured
