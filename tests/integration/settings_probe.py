"""Settings an operator sets in the env file, and what each service must then report at GET /settings.

The values differ from the catalogue's defaults and change nothing the suites check (limits a
little wider or narrower, timeouts a little shorter); REDIS_TLS, ACCESS_LOG and FEATURE_AGENT_SWARM
are left out, as flipping them changes what the other tests see. Shared by the compose suite and
the cluster suite (tests/cluster/test_operator.py)."""

from __future__ import annotations

from typing import Any

from noa_common.env_catalogue import variable
from noa_common.settings import parse_value

CHANGED = {
    "AGENTICOS_TASK_QUEUE_SIZE": "900", "CLAUDE_FLOW_MAX_STEPS": "90", "CLAUDE_FLOW_MAX_WORKFLOWS": "900",
    "CLAUDE_FLOW_RETRY_DELAY": "0.25", "CORS_ORIGIN": "https://ops.example.invalid",
    "DB_COMMAND_TIMEOUT": "25", "DB_CONNECT_TIMEOUT": "4", "HTTP_KEEPALIVE_TIMEOUT": "6",
    "HTTP_MAX_CONCURRENCY": "64", "JWT_EXPIRY": "43200", "MCP_MEMORY_MAX_CHARS": "90000",
    "MCP_SEARCH_MAX_RESULTS": "90", "RATE_LIMIT_MAX": "900", "RATE_LIMIT_WINDOW": "30",
    "REDIS_SOCKET_TIMEOUT": "4",
}


def env_lines() -> str:
    return "".join(f"{name}={value}\n" for name, value in CHANGED.items())


def expected(service: str) -> dict[str, Any]:
    """The parsed values of CHANGED that `service` reads."""
    return {name: parse_value(variable(name), raw) for name, raw in CHANGED.items()
            if service in variable(name).services}


def mismatches(service: str, reported: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """name -> (expected, reported) for each changed setting the service does not report as set."""
    return {name: (value, reported.get(name)) for name, value in expected(service).items()
            if reported.get(name) != value}


# Run in a service's container: GET its own /settings on loopback with the key read from stdin
# (never on the command line), print the reply's body.
READ_SETTINGS = """
import os, sys, urllib.request
service = sys.argv[1]
port = {"mcp": "MCP_PORT", "claude-flow": "CLAUDE_FLOW_PORT", "agenticos": "AGENTICOS_PORT"}[service]
request = urllib.request.Request(f"http://127.0.0.1:{os.environ.get(port)}/settings",
                                 headers={"Authorization": "Bearer " + sys.stdin.read().strip()})
with urllib.request.urlopen(request, timeout=10) as reply:
    print(reply.read().decode())
"""


def read_settings_command(service: str) -> list[str]:
    return ["python", "-c", READ_SETTINGS, service]
