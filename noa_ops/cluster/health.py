"""Health probes of the components, run from the host or from inside the network namespace."""

from __future__ import annotations

import http.client
import socket
import ssl
from pathlib import Path

from noa_ops.cluster.config import ClusterConfig
from noa_ops.cluster.nsutil import in_netns


def _get(host: str, port: int, path: str, tls: ssl.SSLContext | None, timeout: float) -> tuple[int, str]:
    conn: http.client.HTTPConnection
    if tls is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(4096).decode(errors="replace")
    finally:
        conn.close()


def admin_tls(cfg: ClusterConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cfg.pki_dir / "ca.crt"))
    context.load_cert_chain(str(cfg.pki_dir / "admin.crt"), str(cfg.pki_dir / "admin.key"))
    return context


def insecure_tls() -> ssl.SSLContext:
    """For the components' self-signed /healthz endpoints on the namespace's loopback."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def http_ok(cfg: ClusterConfig, host: str, port: int, path: str, *, tls: ssl.SSLContext | None = None,
            in_ns: bool = True, timeout: float = 2.0) -> bool:
    def probe() -> bool:
        try:
            status, _ = _get(host, port, path, tls, timeout)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200
    return in_netns(cfg.netns, probe) if in_ns else probe()


def unix_socket_ok(path: Path) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(1.0)
    try:
        sock.connect(str(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def tcp_ok(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False
