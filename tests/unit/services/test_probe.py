"""The Docker HEALTHCHECK probe against a tiny HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from noa_common.probe import main, probe_url


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/health/ready": 200, "/health/startup": 503}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def env(port: int) -> dict[str, str]:
    return {"NOA_SERVICE_PORT_VAR": "MCP_PORT", "MCP_PORT": str(port)}


def test_exit_0_on_200(server_port: int) -> None:
    assert main(["/health/ready"], env(server_port)) == 0


def test_exit_1_on_503(server_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/health/startup"], env(server_port)) == 1
    assert "answered 503" in capsys.readouterr().err


def test_default_path_is_readiness(server_port: int) -> None:
    assert main([], env(server_port)) == 0


def test_exit_1_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    assert main(["/health/ready"], env(free_port)) == 1


def test_exit_1_without_port_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/health/ready"], {}) == 1
    assert "NOA_SERVICE_PORT_VAR" in capsys.readouterr().err


def test_unknown_port_variable_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/health/ready"], {"NOA_SERVICE_PORT_VAR": "NOPE_PORT"}) == 1
    assert "not a known port variable" in capsys.readouterr().err


def test_invalid_port_falls_back_to_the_default_like_the_service() -> None:
    assert probe_url("/health", {"NOA_SERVICE_PORT_VAR": "CLAUDE_FLOW_PORT", "CLAUDE_FLOW_PORT": "abc"}) == (
        "http://127.0.0.1:9100/health")
    assert probe_url("health/ready", {"NOA_SERVICE_PORT_VAR": "AGENTICOS_PORT"}) == (
        "http://127.0.0.1:9400/health/ready")
