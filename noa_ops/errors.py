"""The one error the library raises: a sentence that says what is wrong and what to do.

Only the CLI layer (noa_ops/cli.py) turns it into invoke's `Exit`, so the library can be used and
tested without invoke's exit machinery, and `status` can report a failure as data.
"""

from __future__ import annotations


class NoaError(Exception):
    """An operator-facing failure: `str(error)` is the one line to print; `code` the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        return str(self)
