"""Noa Server operator tasks: `invoke --list`, then `invoke --help <task>`.

Thin on purpose: the code lives in noa_ops/, per-environment defaults in invoke.yaml.
"""

from __future__ import annotations

from pathlib import Path

from invoke.collection import Collection

from noa_ops import cli, config_file, shell
from noa_ops.errors import NoaError

# invoke reads invoke.yaml right after importing this file, and a YAML error there would end in a
# traceback: check it first. No chdir: noa_ops/paths.py anchors every path at the repository.
try:
    config_file.check_syntax(Path(__file__).with_name("invoke.yaml"))
except NoaError as error:
    raise SystemExit(str(error)) from None
ns = Collection(cli.build, cli.push, cli.deploy, cli.rollback, cli.health, cli.logs, cli.stop, cli.status,
                cli.env_init, cli.env_check, cli.rotate_key, cli.docs,
                cli.db_backup, cli.db_restore, cli.model_fetch, cli.cluster)
ns.configure(shell.invoke_config())
