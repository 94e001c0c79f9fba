"""A small TCP forwarder between the host and the cluster's network namespace.

    python -m noa_ops.cluster.forward NETNS SIDE:HOST:PORT=SIDE:HOST:PORT ...

SIDE is `host` or `ns`. The cluster uses two: host 127.0.0.1:<host_api_port> -> ns
<node_ip>:<api_port> (kubectl on the host) and ns 127.0.0.1:<registry_port> -> host
127.0.0.1:<registry_port> (containerd pulls from the registry the host pushes to). Both ends are
loopback or inside the namespace: there is no route off the machine, and no interface on the host.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from dataclasses import dataclass

from noa_ops.cluster.nsutil import in_netns


@dataclass(frozen=True)
class Endpoint:
    side: str  # "host" or "ns"
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        side, host, port = text.split(":")
        if side not in ("host", "ns"):
            raise ValueError(f"side must be host or ns: {text}")
        return cls(side, host, int(port))


def parse_rule(text: str) -> tuple[Endpoint, Endpoint]:
    listen, _, target = text.partition("=")
    return Endpoint.parse(listen), Endpoint.parse(target)


def _socket(netns: str, side: str) -> socket.socket:
    if side == "ns":
        return in_netns(netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def _serve(netns: str, listener: socket.socket, target: Endpoint) -> None:
    while True:
        client, _ = listener.accept()
        upstream = _socket(netns, target.side)
        try:
            upstream.connect((target.host, target.port))
        except OSError:
            client.close()
            upstream.close()
            continue
        pumps = [threading.Thread(target=_pump, args=pair, daemon=True)
                 for pair in ((client, upstream), (upstream, client))]
        for pump in pumps:
            pump.start()
        threading.Thread(target=_close_after, args=(pumps, client, upstream), daemon=True).start()


def _close_after(pumps: list[threading.Thread], *socks: socket.socket) -> None:
    for pump in pumps:
        pump.join()
    for sock in socks:
        sock.close()


def main(argv: list[str]) -> int:
    netns, *rules = argv
    servers = []
    for listen, target in map(parse_rule, rules):
        listener = _socket(netns, listen.side)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((listen.host, listen.port))
        listener.listen(64)
        servers.append(threading.Thread(target=_serve, args=(netns, listener, target), daemon=True))
    for server in servers:
        server.start()
    print(f"forwarding {' '.join(rules)} (netns {netns})", flush=True)
    for server in servers:
        server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
