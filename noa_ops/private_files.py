"""Files that may hold secrets (env files, releases, locks): directories 0700, files 0600."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write `text` to `path` with mode 0600, creating 0700 parents.

    exclusive: refuse (FileExistsError) when the file exists, instead of replacing its content.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        # The umask can only remove bits, and an existing file keeps its mode: set it explicitly.
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
