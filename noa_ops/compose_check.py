"""`docker compose config -q` of the compose file, then of it with the hot-reload file, as
`nox -s validate` checks them: with a throwaway env file that gives every `${NAME:?...}` the files
require a random value. The docker CLI and its compose plugin only, no engine, no network.

    python -m noa_ops.compose_check

One line on error, exit 1. Standard library only.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from noa_ops import paths

COMPOSE_FILES = (paths.COMPOSE_FILE, paths.HOT_RELOAD_FILE)
PROJECT = "noa-validate"


def required_variables(files: Sequence[Path], root: Path = paths.REPO) -> list[str]:
    """Every NAME the files require as `${NAME:?...}`, sorted."""
    found: set[str] = set()
    for name in files:
        found |= set(re.findall(r"\$\{([A-Z0-9_]+):\?", (root / name).read_text()))
    return sorted(found)


def throwaway_env(directory: Path, files: Sequence[Path] = COMPOSE_FILES) -> Path:
    """An env file with a random value for every variable the compose files require."""
    path = directory / "compose.env"
    path.write_text("".join(f"{name}={secrets.token_hex(24)}\n" for name in required_variables(files)))
    return path


def commands(env_file: Path, files: Sequence[Path] = COMPOSE_FILES) -> list[list[str]]:
    """`docker compose config -q` of the first file, then of the first two, and so on."""
    result = []
    for count in range(1, len(files) + 1):
        chosen = [arg for name in files[:count] for arg in ("-f", str(name))]
        result.append(["docker", "compose", "-p", PROJECT, *chosen, "--env-file", str(env_file),
                       "config", "-q"])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv):
        print("usage: python -m noa_ops.compose_check", file=sys.stderr)
        return 2
    if shutil.which("docker") is None:
        print("compose: validate needs the docker CLI with the compose plugin (not the engine): "
              "run scripts/bootstrap", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="noa-validate-") as scratch:
        for command in commands(throwaway_env(Path(scratch))):
            print(" ".join(command), flush=True)
            code = subprocess.run(command, cwd=paths.REPO, check=False).returncode
            if code != 0:
                print(f"compose: docker compose config failed (exit {code})", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
