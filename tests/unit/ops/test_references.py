"""Every path that a guide, a comment or a docstring names exists (or is a git-ignored file that a
task writes), so nobody is sent looking for a file that is not there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# A repository path: one of the top-level folders, then a name; not part of a longer word or path.
REFERENCE = re.compile(r"(?<![\w./-])((?:noa_ops|services|docker|k8s|scripts|tests|docs|\.ci)/[\w./-]*\w)")
# Tests build temporary trees that name files on purpose; prose and code elsewhere must not.
SCANNED = ("README.md", "docs/", "noa_ops/", "services/", "scripts/", "docker/", "k8s/", "noxfile.py",
           "tasks.py", "invoke.yaml", ".ci/", "pyproject.toml")


def tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.split() if name.startswith(SCANNED)]


def references(text: str) -> set[str]:
    """Named paths; a name followed by a placeholder (<env>, {name}, *) is a pattern, not a file."""
    found = REFERENCE.finditer(text)
    return {match.group(1) for match in found if not placeholder_follows(text, match.end())}


def placeholder_follows(text: str, end: int) -> bool:
    rest = text[end:end + 2]
    return rest[:1] in ("<", "{", "*") or rest in ("/<", "/{", "/*")


def ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, check=False).returncode == 0


def test_every_named_path_exists() -> None:
    missing = sorted(f"{name} (in {source})" for source in tracked()
                     for name in references((REPO / source).read_text(errors="replace"))
                     if not (REPO / name).exists() and not ignored(name))
    assert missing == []


def test_the_scan_finds_a_path_that_is_not_there() -> None:
    text = "see noa_ops/kubernetes.py and k8s/variants/<name>, k8s/base, my-noa_ops/x.py"
    assert references(text) == {"noa_ops/kubernetes.py", "k8s/base"}
    assert not (REPO / "noa_ops/kubernetes.py").exists()
    assert ignored("k8s/overlays/dev/secrets.env") and not ignored("k8s/overlays/dev/kustomization.yaml")
