"""Spare loopback ports for a stack of one's own (the integration suite's, the bench's): the
published ports of the compose stack moved by one offset, all free at once."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable

from . import catalogue
from .errors import NoaError


def published_ports() -> list[int]:
    return [service.port for service in catalogue.compose_services() if service.published]


def is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port`. SO_REUSEADDR, as servers bind (the engine's proxy
    too): a connection of a server just gone, left in TIME_WAIT for a minute, does not count."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_offset(taken: Iterable[int] = ()) -> int:
    """A multiple of 1000 from 20000 to 50000, none of `taken`, at which every published port is
    free now."""
    avoid = set(taken)
    candidates = [offset for offset in range(20000, 50001, 1000) if offset not in avoid]
    random.shuffle(candidates)
    for offset in candidates:
        if all(is_free(port + offset) for port in published_ports()):
            return offset
    raise NoaError("no port offset from 20000 to 50000 has every published port free")
