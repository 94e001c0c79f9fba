"""invoke.yaml must parse: invoke itself would stop on a YAML error with a traceback, so tasks.py
checks it first, on every start (`invoke --list` included). PyYAML only: nothing of the package
that a listing does not need."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import NoaError


def check_syntax(path: Path) -> None:
    """Nothing when the file parses or is absent (`environments.configured` says what is missing)."""
    try:
        yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        reason = getattr(error, "problem", None) or type(error).__name__
        raise NoaError(f"{path.name} is not valid YAML{where}: {reason}; fix it, then retry") from None
