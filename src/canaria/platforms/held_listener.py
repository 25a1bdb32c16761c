"""The gateway's public socket, held by the supervisor so a gateway restart refuses no connection.

When the supervisor binds the public port itself and hands the socket to the gateway process it starts, the
port stays bound while that process is dead: clients that connect during a restart wait in the kernel's
accept queue (up to the backlog) and are served by the new gateway, instead of being refused. Only requests
in flight on the dead process's connections fail. The same handoff a systemd socket unit gives a service.

A gateway found running (started by an earlier `enable-canary`) is asked for a copy of its socket over the
handoff socket in a private runtime directory (`gateway/handoff.py`). The socket is released (clients are refused at once, which is quicker to fail over from than a hang) when the
supervisor gives up on the gateway or shuts it down.
"""

from __future__ import annotations

import socket
from pathlib import Path

from canaria.foundation.addresses import parse_address
from canaria.gateway.listen import LISTEN_FDS_ENV, bind_listener

__all__ = ["HeldListener"]


class HeldListener:
    """One listening socket bound here and inherited by each gateway process this supervisor starts."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._sock: socket.socket | None = None

    @property
    def held(self) -> bool:
        return self._sock is not None

    def acquire(self) -> int:
        """Bind the address (PortInUseError if another process has it) unless already held; the socket's fd."""
        if self._sock is None:
            self._sock = bind_listener(self.address, "public")
            self._sock.set_inheritable(True)
        return self._sock.fileno()

    def adopt(self, handoff: Path) -> bool:
        """Ask a running gateway (one this supervisor did not start) for a copy of its public socket."""
        if self._sock is not None:
            return True
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(1.0)
                conn.connect(str(handoff))
                _, fds, _, _ = socket.recv_fds(conn, 16, 1)
        except OSError:
            return False  # an older gateway, or none on this path: its first death refuses clients
        if not fds:
            return False
        sock = socket.socket(fileno=fds[0])
        _, want_port = parse_address(self.address)
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0 or sock.getsockname()[1] != want_port:
            sock.close()
            return False
        sock.set_inheritable(True)
        self._sock = sock
        return True

    def env(self) -> dict[str, str]:
        """What the gateway process reads to adopt the socket instead of binding the port again."""
        return {LISTEN_FDS_ENV: f"public={self._sock.fileno()}"} if self._sock is not None else {}

    def covers(self, host: str, port: int) -> bool:
        """True when this held socket is the one bound to host:port (so the port is "taken" by us)."""
        if self._sock is None:
            return False
        want_host, want_port = parse_address(self.address)
        return (host, port) == (want_host, want_port)

    def release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
