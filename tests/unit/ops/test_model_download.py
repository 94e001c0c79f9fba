"""`model-fetch --source URL` against real HTTPS servers on loopback: https only (redirects too), the
token to the configured host alone and never across a redirect, a pin required unless
--trust-unpinned, and a refused download leaves nothing behind.

Two TLS servers stand in for the hub (https://localhost:P, the token host here) and another host
(https://127.0.0.1:Q), with a certificate for both names that the test trusts (SSL_CERT_FILE); a
plain http server listens too, so a test can show nothing reached it.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from invoke.context import Context

from noa_ops import models, paths
from noa_ops.errors import NoaError

MODEL = b"GGUF" + bytes(range(200))
MODEL_SHA = hashlib.sha256(MODEL).hexdigest()
TOKEN = "hf_attack_test_token"


@dataclass
class Server:
    scheme: str
    host: str
    port: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization header)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.seen.append((self.path, self.headers.get("Authorization", "")))
            status, headers, body = server.routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    return Handler


def _certificate(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl (scripts/bootstrap installs it)")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _serve(server: Server, context: ssl.SSLContext | None) -> http.server.ThreadingHTTPServer:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    server.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


@dataclass
class Net:
    hub: Server
    other: Server
    plain: Server
    cache: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]) -> Iterator[Net]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    servers = Net(Server("https", "localhost"), Server("https", "127.0.0.1"), Server("http", "127.0.0.1"),
                  tmp_path / "root" / models.CACHE_DIR)
    running = [_serve(servers.hub, context), _serve(servers.other, context), _serve(servers.plain, None)]
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("HUGGINGFACE_TOKEN", TOKEN)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setattr(models, "TOKEN_HOST", "localhost")
    monkeypatch.setattr(paths, "ROOT", tmp_path / "root")
    try:
        yield servers
    finally:
        for httpd in running:
            httpd.shutdown()
            httpd.server_close()


def fetch(url: str, sha256: str = MODEL_SHA, trust_unpinned: bool = False) -> tuple[Path, str, str]:
    return models.resolve_source(Context(), url, sha256, trust_unpinned=trust_unpinned)


def left_behind(net: Net) -> list[str]:
    return sorted(path.name for path in net.cache.iterdir()) if net.cache.exists() else []


def test_a_pinned_https_download_sends_the_token_to_the_hub(net: Net) -> None:
    net.hub.routes["/m/model.gguf"] = (200, {}, MODEL)
    local, name, checksum = fetch(net.hub.url("/m/model.gguf"))
    assert (name, checksum, local.read_bytes()) == ("model.gguf", MODEL_SHA, MODEL)
    assert net.hub.seen == [("/m/model.gguf", f"Bearer {TOKEN}")]
    assert left_behind(net) == ["model.gguf"]


def test_the_token_never_follows_a_redirect_to_another_host(net: Net) -> None:
    net.hub.routes["/resolve/model.gguf"] = (302, {"Location": net.other.url("/cdn/model.gguf")}, b"")
    net.other.routes["/cdn/model.gguf"] = (200, {}, MODEL)
    fetch(net.hub.url("/resolve/model.gguf"))
    assert net.hub.seen == [("/resolve/model.gguf", f"Bearer {TOKEN}")]
    assert net.other.seen == [("/cdn/model.gguf", "")]


def test_the_token_goes_to_no_other_host(net: Net) -> None:
    net.other.routes["/model.gguf"] = (200, {}, MODEL)
    fetch(net.other.url("/model.gguf"))
    assert net.other.seen == [("/model.gguf", "")]


def test_plain_http_is_refused_before_any_connection(net: Net) -> None:
    net.plain.routes["/model.gguf"] = (200, {}, MODEL)
    with pytest.raises(NoaError, match="over https only"):
        fetch(net.plain.url("/model.gguf"))
    assert net.plain.seen == [] and left_behind(net) == []


def test_a_redirect_down_to_http_is_refused_and_nothing_is_left(net: Net) -> None:
    """The near miss: the URL given is https, the one it redirects to is not."""
    net.hub.routes["/model.gguf"] = (302, {"Location": net.plain.url("/model.gguf")}, b"")
    net.plain.routes["/model.gguf"] = (200, {}, MODEL)
    with pytest.raises(NoaError, match="refusing a download that is not https"):
        fetch(net.hub.url("/model.gguf"))
    assert net.plain.seen == [] and left_behind(net) == []


def test_an_unpinned_download_is_refused_before_it_starts(net: Net) -> None:
    net.hub.routes["/model.gguf"] = (200, {}, MODEL)
    with pytest.raises(NoaError, match="needs --sha256 HEX"):
        fetch(net.hub.url("/model.gguf"), sha256="")
    assert net.hub.seen == [] and left_behind(net) == []
    _, _, checksum = fetch(net.hub.url("/model.gguf"), sha256="", trust_unpinned=True)
    assert checksum == MODEL_SHA


@pytest.mark.parametrize(("body", "message"), [
    (MODEL[:-1] + b"\x00", "refusing to use it"),  # one byte off: the pin does not match
    (b"<html>sign in to download</html>", "is not a GGUF model"),
])
def test_a_refused_download_leaves_nothing_behind(net: Net, body: bytes, message: str) -> None:
    net.hub.routes["/model.gguf"] = (200, {}, body)
    with pytest.raises(NoaError, match=message):
        fetch(net.hub.url("/model.gguf"))
    assert left_behind(net) == []


def test_a_refused_download_keeps_an_earlier_good_copy(net: Net) -> None:
    """A tampered file never replaces the verified one already in the cache."""
    net.hub.routes["/model.gguf"] = (200, {}, MODEL)
    local, _, _ = fetch(net.hub.url("/model.gguf"))
    net.hub.routes["/model.gguf"] = (200, {}, MODEL[:-1] + b"\x01")
    with pytest.raises(NoaError, match="refusing to use it"):
        fetch(net.hub.url("/model.gguf"))
    assert local.read_bytes() == MODEL and left_behind(net) == ["model.gguf"]
