"""What an attacker would try against the running stack, over real sockets.

Writes: a page in the operator's browser posting text/plain, a foreign Origin, a 20 MiB body;
each is refused before the service reads it (noa_common/write_guard.py), directly and through
the ui proxy. Callers: every API route without credentials (401), with a near miss of a real key
(401), with another client's key where it is not its (403); an agent taken over, a task completed
by someone other than its agent (403)."""

from __future__ import annotations

import contextlib
import json
import socket
import uuid

import pytest

from noa_ops import catalogue
from noa_ops.settings_catalogue import api_keys

from .api_routes import MCP_HEADERS, MCP_INITIALIZE, NOT_CLAUDE_FLOW_S, ROUTES
from .helpers import OPERATOR, base_url, bearer, http, invoke, key_of, wait_for
from .suite import SUITE

key_digest = api_keys.key_digest

pytestmark = pytest.mark.integration

# A write route of each Python service.
WRITES = {"mcp": "/mcp", "claude-flow": "/workflows", "agenticos": "/agents"}
ATTACKER = "https://attacker.example"
TWENTY_MIB = 20 * 1024 * 1024


def raw_post(port: int, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """POST over a plain socket: (status, body) of the answer, read even if the server stops
    reading the request early (as it must for a body it refuses)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{head}\r\n".encode())
        with contextlib.suppress(OSError):  # refused mid-body: the answer is already waiting
            conn.sendall(body)
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # the server closed with the body unread
            while chunk := conn.recv(65536):
                answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode(errors="replace")


def port_of(name: str) -> int:
    return SUITE.port(name)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_cross_origin_text_plain_post_is_refused(stack: None, name: str) -> None:
    """What a page in the operator's browser can send without a CORS preflight."""
    body = json.dumps({"name": "forged"}).encode()
    status, answer = raw_post(port_of(name), WRITES[name], {
        "Origin": ATTACKER, "Content-Type": "text/plain", "Content-Length": str(len(body))}, body)
    assert status == 403, answer
    status, answer = raw_post(port_of(name), WRITES[name], {
        "Content-Type": "text/plain", "Content-Length": str(len(body))}, body)
    assert status == 415, answer


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_20_mib_body_is_413_without_being_read(stack: None, name: str) -> None:
    status, answer = raw_post(port_of(name), WRITES[name], {
        "Content-Type": "application/json", "Content-Length": str(TWENTY_MIB)}, b"[" * 65536)
    assert status == 413, answer


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_20_mib_body_without_content_length_is_cut_off(stack: None, name: str) -> None:
    chunk = b"[" * 1_048_576
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    status, answer = raw_post(port_of(name), WRITES[name], {
        "Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunked)
    assert status == 413, answer


@pytest.mark.parametrize("name", sorted(WRITES))
def test_through_the_ui_proxy_a_foreign_origin_is_refused(stack: None, name: str) -> None:
    status, answer = raw_post(port_of("ui"), f"/api/{name}{WRITES[name]}", {
        "Origin": ATTACKER, "Content-Type": "application/json", "Content-Length": "2"}, b"{}")
    assert status == 403, answer


@pytest.mark.parametrize("name", ["claude-flow", "agenticos"])
def test_a_json_write_without_an_origin_reaches_the_route(stack: None, name: str) -> None:
    """The guard is no outage: JSON from a client that is not a browser gets to the route, which
    judges the payload (422 for an empty object)."""
    answer = http("POST", f"{base_url(name)}{WRITES[name]}", {})
    assert answer.status == 422, answer.body


# -- the public surface: what the ui (and so the Ingress) serves of the services' probes --------------

# Spellings of probe paths nginx normalises before it matches a location (slashes merged, %-decoded),
# and ones it matches case-insensitively, beside the plain ones.
PROBE_SPELLINGS = ("/health", "/health/ready", "/health/startup", "/metrics", "//health/ready",
                   "/%68ealth/ready", "/HEALTH/ready", "/./metrics", "/health/ready?verbose=1")


@pytest.mark.parametrize("name", [s.name for s in catalogue.stack_services() if s.is_http and s.name != "ui"])
def test_the_ui_proxy_refuses_every_probe_path(stack: None, name: str) -> None:
    for spelling in PROBE_SPELLINGS:
        status, body = call_ui(f"/api/{name}{spelling}")
        assert status == 404, f"{spelling}: {status} {body}"
        assert json.loads(body) == {"status": "fail", "error": "not found"}, spelling


def test_the_ui_proxy_still_forwards_an_api_call_beside_them(stack: None) -> None:
    """The near miss of the refusals: an API path under the same prefix reaches the service, which
    answers 401 itself (its own error body, not nginx's 404)."""
    status, body = call_ui(f"/api/agenticos/agents/{uuid.uuid4()}")
    assert status == 401, body


def call_ui(path: str) -> tuple[int, str]:
    answer = http("GET", f"{base_url('ui')}{path}", auth=None)
    return answer.status, answer.body


# -- who may call what: every API route, anonymous and with someone else's credentials ---------------

IDS = [f"{r[0]} {r[1]} {r[2]}" for r in ROUTES]
NOT_ITS_IDS = [f"{r[0]} {r[1]} {r[2]}" for r in NOT_CLAUDE_FLOW_S]


def call(name: str, method: str, path: str, body: object, token: str | None) -> tuple[int, str]:
    """One request to a service's published port, with `token` as its bearer credential (or none)."""
    if method == "GET":
        answer = http("GET", f"{base_url(name)}{path}", auth=None, token=token)
        return answer.status, answer.body
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Length": str(len(data)), **(MCP_HEADERS if name == "mcp" else {})}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers.update(bearer(token))
    return raw_post(port_of(name), path, headers, data)


@pytest.mark.parametrize(("name", "method", "path", "body"), ROUTES, ids=IDS)
def test_every_route_refuses_an_anonymous_caller(stack: None, name: str, method: str, path: str,
                                                 body: object) -> None:
    status, answer = call(name, method, path, body, None)
    assert status == 401, answer


@pytest.mark.parametrize(("name", "method", "path", "body"), ROUTES, ids=IDS)
def test_a_near_miss_of_a_real_key_is_refused(stack: None, name: str, method: str, path: str,
                                              body: object) -> None:
    """The operator's key one character short (llama: its own key so), and the digest of the key."""
    real = key_of("LLAMA_API_KEY" if name == "llama" else OPERATOR)
    for forged in (real[:-1], key_digest(real)):
        status, answer = call(name, method, path, body, forged)
        assert status == 401, answer


@pytest.mark.parametrize(("name", "method", "path", "body"), NOT_CLAUDE_FLOW_S, ids=NOT_ITS_IDS)
def test_claude_flow_s_own_key_opens_nothing_but_mcp(stack: None, name: str, method: str, path: str,
                                                   body: object) -> None:
    """A service's credential where it is not its: known, so 403 (not 401)."""
    status, answer = call(name, method, path, body, key_of("CLAUDE_FLOW_API_KEY"))
    assert status == 403, answer


def test_llama_takes_its_key_only(stack: None) -> None:
    assert call("llama", "GET", "/v1/models", None, key_of(OPERATOR))[0] == 401
    assert call("llama", "GET", "/v1/models", None, key_of("LLAMA_API_KEY"))[0] == 200


def register(name: str, token: str | None = None) -> dict[str, str]:
    answer = http("POST", f"{base_url('agenticos')}/agents", {"name": name}, token=token)
    assert answer.status == 201, answer.body
    body: dict[str, str] = answer.json()
    return body


def test_an_agent_cannot_be_taken_over(stack: None) -> None:
    victim = register(f"victim-{uuid.uuid4().hex[:6]}")
    other = register(f"other-{uuid.uuid4().hex[:6]}")
    agents = f"{base_url('agenticos')}/agents"
    for token in (None, other["token"]):  # the operator's key, another agent's token
        answer = http("POST", agents, {"name": victim["name"]}, token=token)
        assert answer.status == 403, answer.body
    renewed = register(victim["name"], token=victim["token"])
    assert (renewed["id"], renewed["created"]) == (victim["id"], False)
    beat = f"{agents}/{victim['id']}/heartbeat"
    assert http("POST", beat, token=other["token"]).status == 403
    assert http("POST", beat).status == 403  # the operator is not the agent
    assert http("POST", beat, token=renewed["token"]).status == 200


def test_a_task_is_completed_by_its_agent_alone(stack: None) -> None:
    worker = register(f"worker-{uuid.uuid4().hex[:6]}")
    other = register(f"other-{uuid.uuid4().hex[:6]}")
    tasks = f"{base_url('agenticos')}/tasks"
    created = http("POST", tasks, {"title": "index", "agent_id": worker["id"]})
    assert created.status == 201, created.body
    complete = f"{tasks}/{created.json()['id']}/complete"
    for token in (other["token"], None):  # another agent, the operator
        forged = http("POST", complete, {"result": {"forged": True}}, token=token)
        assert forged.status == 403, forged.body
    assert http("POST", complete, {"result": {"done": 1}}, token=worker["token"]).status == 200
    stored = http("GET", f"{tasks}/{created.json()['id']}").json()
    assert stored["status"] == "completed" and stored["result"] == {"done": 1}
    assert http("POST", tasks, {"title": "x"}, token=worker["token"]).status == 403


def mcp_answers(token: str) -> int:
    """The status mcp answers an initialize with this bearer token."""
    return call("mcp", "POST", "/mcp", MCP_INITIALIZE, token)[0]


def test_a_rotated_key_stops_working_and_its_successor_works(stack: None) -> None:
    """`invoke rotate-key` replaces claude-flow's key and deploys: mcp refuses the old key, and a
    workflow (claude-flow calling mcp with the new one) still runs."""
    old = key_of("CLAUDE_FLOW_API_KEY")
    assert mcp_answers(old) == 200
    invoke("rotate-key", "--env", "dev", "--name", "CLAUDE_FLOW_API_KEY")
    new = key_of("CLAUDE_FLOW_API_KEY")
    assert new != old
    assert mcp_answers(old) == 401
    assert mcp_answers(new) == 200
    workflows = f"{base_url('claude-flow')}/workflows"
    created = http("POST", workflows, {"name": "after-rotation", "steps": [{"tool": "agents_list"}]})
    assert created.status == 202, created.body
    url = f"{workflows}/{created.json()['id']}"
    wait_for(lambda: http("GET", url).json()["status"] in ("completed", "failed"), 60, "the workflow")
    assert http("GET", url).json()["status"] == "completed", http("GET", url).body
