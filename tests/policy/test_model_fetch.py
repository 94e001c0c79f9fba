"""llama's init step, fetch-model, run as rendered: /bin/sh with a stand-in curl (no network).

It downloads only when the file MODEL_PATH names is missing, refuses a download whose sha256 is
not MODEL_SHA256 (nothing appears at MODEL_PATH), and renames a verified one into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .llama_rules import MODEL_FETCHER
from .manifest import Render, find
from .pods import pod_template

STAND_IN_CURL = """#!/bin/sh
# Records its call and writes the payload to the file after -o.
echo "$@" >> "$CALLS"
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then cp "$PAYLOAD" "$2"; fi
  shift
done
"""


def fetch_script(render: Render) -> list[str]:
    llama = find(render, "Deployment", "llama")
    assert llama is not None
    fetcher = next(c for c in pod_template(llama)["spec"]["initContainers"] if c["name"] == MODEL_FETCHER)
    return [*fetcher["command"], *fetcher["args"]]


def run(script: list[str], tmp_path: Path, sha256: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "CALLS": str(tmp_path / "calls"),
        "PAYLOAD": str(tmp_path / "payload"),
        "MODEL_PATH": str(tmp_path / "models" / "model.gguf"),
        "MODEL_URL": "https://example.invalid/model.gguf",
        "MODEL_SHA256": sha256,
    }
    return subprocess.run(script, env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    if shutil.which("sh") is None or shutil.which("sha256sum") is None:
        pytest.skip("needs sh and sha256sum")
    (tmp_path / "bin").mkdir()
    curl = tmp_path / "bin" / "curl"
    curl.write_text(STAND_IN_CURL)
    curl.chmod(0o755)
    (tmp_path / "models").mkdir()
    (tmp_path / "payload").write_bytes(b"GGUF not really a model")
    return tmp_path


@pytest.mark.parametrize("variant", ["dev", "prod-sealed-secrets"])
def test_fetches_verifies_and_then_skips(renders: dict[str, Render], workspace: Path, variant: str) -> None:
    script = fetch_script(renders[variant])
    good = hashlib.sha256((workspace / "payload").read_bytes()).hexdigest()
    model = workspace / "models" / "model.gguf"

    refused = run(script, workspace, "0" * 64)
    assert refused.returncode != 0
    assert not list((workspace / "models").iterdir()), "a refused download must leave nothing behind"

    fetched = run(script, workspace, good)
    assert fetched.returncode == 0, fetched.stderr
    assert model.read_bytes() == (workspace / "payload").read_bytes()
    assert (workspace / "models" / "model.gguf.sha256").read_text() == f"{good}  model.gguf\n"
    assert sorted(p.name for p in (workspace / "models").iterdir()) == ["model.gguf", "model.gguf.sha256"]
    assert len((workspace / "calls").read_text().splitlines()) == 2

    again = run(script, workspace, good)
    assert again.returncode == 0, again.stderr
    assert len((workspace / "calls").read_text().splitlines()) == 2, "present: no download"
