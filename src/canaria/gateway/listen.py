"""Listening sockets: bound before anything is served, and sized to the process's file limit.

Binding both sockets first means a taken port fails fast with PortInUseError and no half-started
gateway is left behind; bounding `max_connections` by the open-file limit means the gateway refuses
clients with a 503 it can still send rather than failing on accept when descriptors run out.
"""

from __future__ import annotations

import errno
import logging
import os
import socket

from canaria.config import parse_address
from canaria.errors import GatewayError, PortInUseError

__all__ = ["LISTEN_FDS_ENV", "bind_listener", "fd_bounded"]

log = logging.getLogger("canaria.gateway")

# "public=FD[,admin=FD]": listening sockets the process that started this gateway bound and handed down
# (canaria's supervisor holds the public one so a restart refuses no client; platforms/held_listener.py).
LISTEN_FDS_ENV = "CANARIA_LISTEN_FDS"


def _inherited(address: str, what: str) -> socket.socket | None:
    """The socket named `what` handed down in CANARIA_LISTEN_FDS, checked to be listening on `address`."""
    spec = os.environ.get(LISTEN_FDS_ENV, "")
    fds = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    if what not in fds:
        return None
    try:
        sock = socket.socket(fileno=int(fds[what]))
    except (ValueError, OSError) as exc:
        raise GatewayError(f"{LISTEN_FDS_ENV}: {what}={fds[what]} is not an open socket ({exc})") from None
    _, port = parse_address(address)
    bound_host, bound_port = sock.getsockname()[:2]
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0 or (port and bound_port != port):
        sock.detach()
        raise GatewayError(f"{LISTEN_FDS_ENV}: {what} socket is bound to {bound_host}:{bound_port}, "
                           f"not listening on {address}; start the gateway without it")
    sock.set_inheritable(False)
    sock.setblocking(False)
    log.info("gateway: %s port %s:%d inherited from the supervisor", what, bound_host, bound_port)
    return sock


def bind_listener(address: str, what: str) -> socket.socket:
    """A non-blocking listening socket on `address`: the one handed down for `what`, else freshly bound."""
    inherited = _inherited(address, what)
    if inherited is not None:
        return inherited
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
