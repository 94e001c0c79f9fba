"""Run a service under uvicorn: JSON logs, graceful SIGTERM, exit status 0.

``python -m noa_mcp`` calls ``serve("mcp", "noa_mcp.app:create_app")``. The same factory path works
with the uvicorn CLI for development: ``uvicorn --factory noa_mcp.app:create_app --reload``.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping
from types import FrameType

import uvicorn

from noa_common.env_catalogue import variable
from noa_common.rules import SettingValue
from noa_common.settings import check_value, listen_port, parse_value

# All interfaces: in a container, peers reach the service on its network address, not loopback.
LISTEN_HOST = "0.0.0.0"


def server_setting(name: str, environ: Mapping[str, str] | None = None) -> SettingValue:
    """A setting uvicorn needs before the app (and load_settings) exists: the value if it is valid,
    else its default. A bad value must not stop the server: the app reports it (startup stays 503)."""
    env = os.environ if environ is None else environ
    declared = variable(name)
    default = parse_value(declared, str(declared.default))
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = parse_value(declared, raw)
    except ValueError:
        return default
    return default if check_value(declared, value, "development") is not None else value


def shutdown_grace(environ: Mapping[str, str] | None = None) -> int:
    """SHUTDOWN_GRACE_SECONDS if it is valid, else its default: a bad value must not break shutdown."""
    value = server_setting("SHUTDOWN_GRACE_SECONDS", environ)
    assert isinstance(value, int)
    return max(1, value)


def drain_timeout(grace: int) -> int:
    """Seconds uvicorn waits for in-flight requests; the rest of the grace period is for the lifespan
    shutdown (workers, pools), so the whole exit fits into SHUTDOWN_GRACE_SECONDS."""
    return max(1, grace // 2)


def _ignore_signal(_signum: int, _frame: FrameType | None) -> None:
    """uvicorn re-raises the signal that stopped it after its graceful shutdown. With the default
    disposition that kills the process with status 143 (or a KeyboardInterrupt for SIGINT); a
    graceful stop is a success, so the re-raised signal is ignored and the process exits 0."""


def build_config(service: str, factory: str, environ: Mapping[str, str] | None = None) -> uvicorn.Config:
    concurrency = server_setting("HTTP_MAX_CONCURRENCY", environ)
    keepalive = server_setting("HTTP_KEEPALIVE_TIMEOUT", environ)
    assert isinstance(concurrency, int) and isinstance(keepalive, float)
    return uvicorn.Config(
        factory,
        factory=True,
        host=LISTEN_HOST,
        port=listen_port(service, environ),
        log_config=None,  # the app factory installs JSON logging for uvicorn's loggers too
        access_log=bool(server_setting("ACCESS_LOG", environ)),
        limit_concurrency=concurrency or None,
        timeout_keep_alive=max(1, round(keepalive)),
        lifespan="on",
        loop="asyncio",
        http="h11",
        server_header=False,
        timeout_graceful_shutdown=drain_timeout(shutdown_grace(environ)),
    )


def serve(service: str, factory: str) -> None:
    server = uvicorn.Server(build_config(service, factory))
    signal.signal(signal.SIGTERM, _ignore_signal)
    signal.signal(signal.SIGINT, _ignore_signal)
    server.run()
    logging.getLogger("noa.service").info("stopped")
