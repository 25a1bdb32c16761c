"""Listening sockets: bound before anything is served, and sized to the process's file limit.

Binding both sockets first means a taken port fails fast with PortInUseError and no half-started
gateway is left behind; bounding `max_connections` by the open-file limit means the gateway refuses
clients with a 503 it can still send rather than failing on accept when descriptors run out.
"""

from __future__ import annotations

import errno
import logging
import socket

from canaria.config import parse_address
from canaria.errors import GatewayError, PortInUseError

__all__ = ["bind_listener", "fd_bounded"]

log = logging.getLogger("canaria.gateway")


def bind_listener(address: str, what: str) -> socket.socket:
    host, port = parse_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        raise GatewayError(f"cannot listen on {address} ({what}): {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def fd_bounded(max_connections: int) -> int:
    """`max_connections`, lowered to what the process's file-descriptor limit can hold (each client
    may need an upstream connection too); the soft limit is raised to the hard one first."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
            except (ValueError, OSError):
                pass
    except ImportError:  # not on POSIX
        return max_connections
    if soft == resource.RLIM_INFINITY:
        return max_connections
    bounded = max(1, (int(soft) - 64) // 2)
    if bounded < max_connections:
        log.warning("gateway: max_connections lowered to %d by the open-file limit (%d)", bounded, soft)
    return min(max_connections, bounded)
