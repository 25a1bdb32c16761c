"""The public listening socket, handed to the supervisor that asks for it (SCM_RIGHTS over a unix socket).

A supervisor that started the gateway already holds its public socket (`platforms/held_listener.py`). One that
found the gateway running — started by an earlier `enable-canary` — asks for a copy here, the way HAProxy's
`expose-fd listeners` lets a new process take over the old one's sockets. With its copy held, the port stays
open while the gateway is dead, so a restart refuses no client. The unix socket lives in a private runtime
directory (mode 0700, the socket 0600): only the user who runs canaria (who could kill the gateway anyway) can ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import stat
import tempfile
from pathlib import Path

__all__ = ["SocketHandoff", "handoff_path"]

log = logging.getLogger("canaria.gateway")

_MAX_UNIX_PATH = 100  # sun_path holds 108 bytes on Linux; a longer runtime directory simply gets no handoff


def handoff_path(state_path: Path, service: str) -> Path:
    """Where the gateway of this state directory and service answers: a private per-user runtime directory
    (`$XDG_RUNTIME_DIR` or the temp dir, `canaria-UID/`, mode 0700), never the state directory itself, which
    holds only what must survive a restart (and whose path may be too long for a unix socket)."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"canaria-{os.getuid()}"
    key = hashlib.sha256(f"{state_path.resolve()}\0{service}".encode()).hexdigest()[:20]
    return base / f"gateway-{key}.sock"


def _private_dir(path: Path) -> bool:
    """Create `path` 0700 if missing; True only when it is a real directory of ours that nobody else can enter."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    info = path.lstat()
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


class SocketHandoff:
    """Answers every connection on `path` with one message carrying the listening socket's descriptor."""

    def __init__(self, path: Path, listener: socket.socket) -> None:
        self.path = path
        self._listener = listener
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> bool:
        """Listen on the unix socket; False (and a log line) when the path is too long or cannot be bound."""
        if len(os.fsencode(self.path)) > _MAX_UNIX_PATH:
            log.info("gateway: no socket handoff (path too long for a unix socket: %s)", self.path)
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if not _private_dir(self.path.parent):
                raise OSError(f"{self.path.parent} is not a private directory of this user")
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # a previous gateway's, dead: nobody answers on it
            old_umask = os.umask(0o177)
            try:
                sock.bind(str(self.path))
            finally:
                os.umask(old_umask)
            sock.listen(8)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            log.warning("gateway: no socket handoff on %s: %s", self.path, exc.strerror or exc)
            return False
        self._sock = sock
        self._task = asyncio.create_task(self._serve())
        return True

    async def _serve(self) -> None:
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self._sock)
            with conn:
                try:
                    socket.send_fds(conn, [b"public"], [self._listener.fileno()])
                except OSError as exc:
                    log.warning("gateway: socket handoff failed: %s", exc.strerror or exc)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            with contextlib.suppress(OSError):
                self.path.unlink()
