"""Docker HEALTHCHECK probe: ``python -m noa_common.probe /health/ready``.

Stdlib only (it runs every few seconds; no service imports). It dials 127.0.0.1 on the port the
service listens on, read from the variable named by NOA_SERVICE_PORT_VAR (set in the image, e.g.
MCP_PORT), falling back to that variable's default exactly as the service does. Exit 0 on HTTP 200,
else 1, with one line on stderr saying why.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from noa_common.settings import port_from_environment

PORT_VAR_ENV = "NOA_SERVICE_PORT_VAR"
TIMEOUT_SECONDS = 3.0
DEFAULT_PATH = "/health/ready"


class ProbeError(Exception):
    pass


def probe_url(path: str, environ: Mapping[str, str]) -> str:
    port_var = environ.get(PORT_VAR_ENV, "").strip()
    if not port_var:
        raise ProbeError(f"{PORT_VAR_ENV} is not set (the image names the port variable, e.g. MCP_PORT)")
    try:
        port = port_from_environment(port_var, environ)
    except KeyError:
        raise ProbeError(f"{PORT_VAR_ENV}={port_var} is not a known port variable") from None
    if not path.startswith("/"):
        path = "/" + path
    return f"http://127.0.0.1:{port}{path}"


def fetch_status(url: str, timeout: float = TIMEOUT_SECONDS) -> int:
    # No proxies: a proxy variable in the environment must not intercept a loopback probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"User-Agent": "noa-probe"})
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    path = args[0] if args else DEFAULT_PATH
    try:
        url = probe_url(path, env)
        status = fetch_status(url)
    except ProbeError as error:
        print(f"probe: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:  # refused, timed out, reset
        print(f"probe: {path}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"probe: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
