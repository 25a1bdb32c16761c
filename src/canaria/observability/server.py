"""The controller's /metrics endpoint: prometheus_client's own threaded HTTP server on a chosen address.

A thread, not the event loop, serves it: a scrape must be answered even while a tick is slow.
"""

from __future__ import annotations

import errno
import threading
from typing import Self
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from canaria.config import parse_address
from canaria.errors import InfrastructureError, PortInUseError

__all__ = ["MetricsServer"]


class MetricsServer:
    """Serve a registry at http://HOST:PORT/metrics until `stop()`. Port 0 picks a free port."""

    def __init__(self, registry: CollectorRegistry, listen: str) -> None:
        self.registry = registry
        self.host, self.port = parse_address(listen)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> Self:
        try:
            server, thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(self.host, self.port) from None
            raise InfrastructureError(f"cannot serve canaria metrics on {self.host}:{self.port}: "
                                      f"{exc.strerror or exc}") from None
        self._server, self._thread = server, thread
        self.port = int(server.server_address[1])
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
