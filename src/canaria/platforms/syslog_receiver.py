"""A small syslog listener for HAProxy's access log, when no syslog daemon writes it to a file.

HAProxy never writes log files itself: it sends syslog datagrams. On most VMs rsyslog already writes
them to a file (Debian's package: /var/log/haproxy.log), and canaria tails that file like nginx's.
Where nothing does, point HAProxy at canaria instead (`log 127.0.0.1:5140 local0` or
`log /run/canaria/haproxy-log.sock local0`) and set `access_log: udp://127.0.0.1:5140` or
`unix:///run/canaria/haproxy-log.sock`: this receiver hands every datagram to a callback. Datagrams
sent while canaria is not listening are lost, which only matters during a rollout — when it listens.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

from canaria.errors import ConfigError, PlatformError

__all__ = ["SyslogReceiver", "is_syslog_target"]


def is_syslog_target(target: str) -> bool:
    return target.startswith(("udp://", "unix://"))


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line

    def datagram_received(self, data: bytes, addr: object) -> None:
        for line in data.decode("utf-8", errors="replace").splitlines():
            if line:
                self._on_line(line)


class SyslogReceiver:
    def __init__(self, target: str, on_line: Callable[[str], None]) -> None:
        if not is_syslog_target(target):
            raise ConfigError("a syslog target is udp://HOST:PORT or unix:///path", field="access_log")
        self.target = target
        self._on_line = on_line
        self._transport: asyncio.DatagramTransport | None = None
        self._unix_path: str | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.target.startswith("udp://"):
                host, _, port = self.target.removeprefix("udp://").rpartition(":")
                if not port.isdigit():
                    raise ConfigError(f"{self.target} has no port", field="access_log")
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Protocol(self._on_line), local_addr=(host or "127.0.0.1", int(port)))
            else:
                path = self.target.removeprefix("unix://")
                if os.path.exists(path):
                    os.unlink(path)  # a stale socket of an earlier run
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(path)
                os.chmod(path, 0o666)
                self._unix_path = path
                transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self._on_line), sock=sock)
        except OSError as exc:
            raise PlatformError(f"cannot listen for HAProxy's log on {self.target}: {exc.strerror or exc}") from None
        self._transport = transport

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._unix_path:
            try:
                os.unlink(self._unix_path)
            except OSError:
                pass
