"""Noa Server operator tasks: `invoke --list`, then `invoke --help <task>`.

Thin on purpose: the code lives in noa_ops/, per-environment defaults in invoke.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path

from invoke.collection import Collection

from noa_ops import cli

# The commands use repo-relative paths (docker/, scripts/, .noa/), so they run from the
# repo root wherever invoke was started (it finds tasks.py in a parent directory).
os.chdir(Path(__file__).resolve().parent)

ns = Collection(cli.build, cli.push, cli.deploy, cli.rollback, cli.health, cli.logs, cli.stop, cli.status,
                cli.env_init, cli.env_check, cli.docs,
                cli.model_fetch)
