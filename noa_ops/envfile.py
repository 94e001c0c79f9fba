"""The per-environment secrets file that compose reads with --env-file.

Values are generated with `secrets` and never printed. The file is created with
mode 0600 in one step (O_EXCL), so no other user can read it even for a moment.
"""

from __future__ import annotations

import os
import secrets
import string
from datetime import UTC, datetime
from pathlib import Path

# The secrets compose needs (docker-compose.yml writes them as ${NAME:?...}, no defaults).
SECRET_NAMES = ("POSTGRES_PASSWORD", "REDIS_PASSWORD")
SECRET_LENGTH = 32
# Letters, digits and two URL-safe symbols: nothing that compose interpolation ($),
# env-file parsing (#, quotes), a shell or a connection URL (@ : /) would treat specially.
SYMBOLS = "-_"
ALPHABET = string.ascii_letters + string.digits + SYMBOLS
CHARACTER_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS)


def generate_secret(length: int = SECRET_LENGTH) -> str:
    """A random secret with at least one character of every class."""
    if length < len(CHARACTER_CLASSES):
        raise ValueError(f"a secret needs at least {len(CHARACTER_CLASSES)} characters")
    while True:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if all(any(ch in chars for ch in candidate) for chars in CHARACTER_CLASSES):
            return candidate


def render(env_name: str, values: dict[str, str]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"# Noa Server secrets for the {env_name} environment, written by `invoke env-init` at {stamp}.",
        "# Git-ignored, mode 0600. Postgres keeps the password it was initialised with in the",
        "# postgres-data volume: replacing it later locks the services out of the existing data.",
        *(f"{name}={value}" for name, value in values.items()),
    ]
    return "\n".join(lines) + "\n"


def read_names(path: Path) -> set[str]:
    """The variable names a KEY=VALUE file defines (values are not kept)."""
    names = set()
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            names.add(stripped.split("=", 1)[0].strip())
    return names


def missing_secrets(path: Path) -> list[str]:
    defined = read_names(path)
    return [name for name in SECRET_NAMES if name not in defined]


def write(path: Path, env_name: str, *, force: bool = False) -> None:
    """Write fresh random secrets; FileExistsError if the file exists and force is not given."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = render(env_name, {name: generate_secret() for name in SECRET_NAMES})
    if not force:
        _write_new(path, content)
        return
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_new(partial, content)
    os.replace(partial, path)


def ensure(path: Path, env_name: str) -> bool:
    """Create the file if it is missing; True when it was created."""
    try:
        write(path, env_name)
    except FileExistsError:
        return False
    return True


def _write_new(path: Path, content: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        # The umask can only remove bits; set the mode explicitly anyway.
        os.fchmod(handle.fileno(), 0o600)
        handle.write(content)
