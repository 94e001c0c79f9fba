"""Every route of the APIs (health and metrics aside), and a probe that calls them from inside a
container: the attack tests of the compose stack (test_attacks.py) and of the local cluster
(tests/cluster/test_operator.py) go through the same list."""

from __future__ import annotations

import json

ANY_ID = "00000000-0000-4000-8000-000000000000"
MCP_INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "attacker", "version": "0"}}}
# (service, method, path, body): every route of the APIs, health and metrics aside.
ROUTES = [
    ("claude-flow", "POST", "/workflows", {"name": "w", "steps": [{"tool": "agents_list"}]}),
    ("claude-flow", "GET", "/workflows", None),
    ("claude-flow", "GET", f"/workflows/{ANY_ID}", None),
    ("agenticos", "POST", "/agents", {"name": "intruder"}),
    ("agenticos", "GET", "/agents", None),
    ("agenticos", "GET", f"/agents/{ANY_ID}", None),
    ("agenticos", "POST", f"/agents/{ANY_ID}/heartbeat", None),
    ("agenticos", "POST", "/tasks", {"title": "forged"}),
    ("agenticos", "GET", f"/tasks/{ANY_ID}", None),
    ("agenticos", "POST", f"/tasks/{ANY_ID}/complete", {"result": {"forged": True}}),
    ("mcp", "POST", "/mcp", MCP_INITIALIZE),
    ("mcp", "GET", "/settings", None),
    ("claude-flow", "GET", "/settings", None),
    ("agenticos", "GET", "/settings", None),
    ("llama", "POST", "/completion", {"prompt": "x", "n_predict": 1}),
    ("llama", "GET", "/v1/models", None),
    ("llama", "GET", "/metrics", None),
]
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
# Where claude-flow's own key is known but not allowed: 403, not 401.
NOT_CLAUDE_FLOW_S = [r for r in ROUTES if r[0] in ("claude-flow", "agenticos") or r[2] == "/settings"]

# Run in a container with Python: argv[1] a JSON list of [base_url, method, path, body, token_name];
# stdin a JSON object token_name -> token (null: no Authorization). Prints one JSON list of statuses.
PROBE = """
import json, sys, urllib.error, urllib.request
calls, tokens = json.loads(sys.argv[1]), json.loads(sys.stdin.read())
statuses = []
for base, method, path, body, token_name in calls:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Accept", "application/json, text/event-stream")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if tokens.get(token_name):
        request.add_header("Authorization", "Bearer " + tokens[token_name])
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            statuses.append(reply.status)
    except urllib.error.HTTPError as error:
        statuses.append(error.code)
print(json.dumps(statuses))
"""


def probe_command(calls: list[tuple[str, str, str, object, str]]) -> list[str]:
    return ["python", "-c", PROBE, json.dumps(calls)]
