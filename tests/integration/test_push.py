"""`invoke push` against a real registry: Debian's docker-registry on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoke.config import Config
from invoke.context import Context

from noa_ops import images
from noa_ops.ports import is_free

from .helpers import invoke
from .suite import SUITE

REGISTRY_BINARY = "/usr/bin/docker-registry"
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status) == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert Path(REGISTRY_BINARY).exists(), "docker-registry is missing: scripts/bootstrap installs it"
    port = next(port for port in range(25000, 26000) if is_free(port))
    address = f"127.0.0.1:{port}"
    root = tmp_path_factory.mktemp("registry")
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: {address}\n"
    )
    process = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not answers(f"http://{address}/v2/"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("docker-registry did not start")
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def test_push_records_the_digest_the_registry_serves(registry: str) -> None:
    destination = f"{registry}/noa-it"
    tag = images.current_tag(Context(Config(overrides={"run": {"in_stream": False}})))
    try:
        result = invoke("push", "--env", "dev", "--service", "redis", "--registry", destination, "--json")
        report = json.loads(result.stdout)
        pushed = report["pushed"]["redis"]
        assert pushed.startswith(f"{destination}/redis@sha256:")
        manifest = f"http://{registry}/v2/noa-it/redis/manifests/{tag}"
        request = urllib.request.Request(manifest, method="HEAD", headers={"Accept": MANIFEST_TYPES})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.headers["Docker-Content-Digest"] == pushed.split("@", 1)[1]
        recorded = json.loads((SUITE.home / "state" / "builds" / f"{tag}.json").read_text())
        assert recorded["pushed"][destination]["redis"] == pushed
    finally:
        subprocess.run(["docker", "image", "rm", f"{destination}/redis:{tag}"], capture_output=True,
                       check=False)


def test_push_to_a_registry_that_does_not_answer_fails_in_one_line() -> None:
    result = invoke("push", "--env", "dev", "--service", "redis", "--registry", "127.0.0.1:5999/none",
                    check=False, timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("push: 127.0.0.1:5999/none/redis:") and "failed 3 times" in last
    assert "Traceback" not in result.stderr
    tag = images.current_tag(Context(Config(overrides={"run": {"in_stream": False}})))
    listing = ["docker", "image", "ls", "--format", "{{.Tag}}", "127.0.0.1:5999/none/redis"]
    tags = subprocess.run(listing, capture_output=True, text=True, check=True).stdout.split()
    assert tag not in tags, "the failed push left its registry tag on the engine"
