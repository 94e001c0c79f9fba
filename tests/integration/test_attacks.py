"""Writes an attacker would try against the running stack, over real sockets: a page in the
operator's browser posting text/plain, a foreign Origin, and a 20 MiB body. Each is refused
before the service reads it (noa_common/write_guard.py), directly and through the ui proxy."""

from __future__ import annotations

import contextlib
import json
import socket

import pytest

from noa_ops import catalogue

from .helpers import base_url, http

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
    return catalogue.get(name).port


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
