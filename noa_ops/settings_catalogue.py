"""The services' settings catalogue (services/noa_common/env_catalogue.py), importable by the tasks.

noa_common's catalogue, rules, settings and api_keys modules are stdlib-only, so the operator CLI reads the
one catalogue the services load their settings from, without the services' dependencies.
"""

from __future__ import annotations

import sys

from . import paths

SERVICES_DIR = paths.REPO / "services"
if str(SERVICES_DIR) not in sys.path:
    sys.path.insert(0, str(SERVICES_DIR))

from noa_common import api_keys, env_catalogue, rules, settings  # noqa: E402

__all__ = ["api_keys", "env_catalogue", "rules", "settings"]

# Every variable whose value is secret: masked wherever a rendered configuration is shown.
SECRET_VARIABLES: tuple[str, ...] = tuple(item.name for item in env_catalogue.VARIABLES if item.secret)
