"""Noa Server operator tasks: `invoke --list`, then `invoke --help <task>`.

Thin on purpose: the code lives in noa_ops/, per-environment defaults in invoke.yaml.
"""

from __future__ import annotations

from invoke.collection import Collection

from noa_ops import cli

# No chdir: noa_ops/paths.py anchors every path at the repository, wherever invoke was started.
ns = Collection(cli.build, cli.push, cli.deploy, cli.rollback, cli.health, cli.logs, cli.stop, cli.status,
                cli.env_init, cli.env_check, cli.docs,
                cli.model_fetch)
