"""Running the dashboard: `DashboardServer` (start/stop inside any event loop) and `serve_dashboard`.

The socket is bound here, before uvicorn starts, so a taken port becomes PortInUseError (uvicorn
would call sys.exit) and port 0 works (the real URL is known once `start()` returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
from collections.abc import Iterator
from typing import Any, Self

import uvicorn

from canaria.config import CanariaConfig, parse_address
from canaria.controller.clock import Clock
from canaria.errors import PortInUseError, UsageError
from canaria.state.store import Store
from canaria.web.app import create_app
from canaria.web.context import OperatorFactory, WebContext

__all__ = ["DashboardServer", "is_loopback", "serve_dashboard"]

log = logging.getLogger("canaria.web")
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn, but it ends live streams before it waits for connections, and leaves signals to its host
    (the demo's Ctrl-C must stop the demo, not only its dashboard)."""

    def __init__(self, config: uvicorn.Config, ctx: WebContext) -> None:
        super().__init__(config)
        self._ctx = ctx

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._ctx.stopping is not None:
            self._ctx.stopping.set()
        await super().shutdown(sockets=sockets)


class DashboardServer:
    """The dashboard on `listen` in the current event loop; `async with` it, or start()/stop()."""

    def __init__(self, config: CanariaConfig, *, listen: str | None = None, lang: str = "en",
                 store: Store | None = None, operator_factory: OperatorFactory | None = None,
                 clock: Clock | None = None, **app_options: Any) -> None:
        self.config = config
        self.host, self.port = parse_address(listen or config.dashboard.listen)
        self.lang = lang
        self._store = store
        self._owns_store = store is None
        self._operator_factory = operator_factory
        self._clock = clock
        self._app_options = app_options
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    async def start(self) -> str:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        if self._store is None:
            self._store = Store.for_state_dir(self.config.state_path)
        hosts = [*_LOOPBACK_NAMES] if self.loopback else None
        app = create_app(self.config, store=self._store, operator_factory=self._operator_factory,
                         clock=self._clock, lang=self.lang, allowed_hosts=hosts, **self._app_options)
        ctx: WebContext = app.state.ctx
        uv_config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on",
                                   timeout_graceful_shutdown=3, ws="none", server_header=False)
        self._server = _Server(uv_config, ctx)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="canaria-dashboard")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raise what went wrong
                raise UsageError(f"the dashboard on {self.url} stopped while starting")
            await asyncio.sleep(0.02)
        return self.url

    def request_stop(self) -> None:
        """Ask the server to stop (safe from a signal handler); `wait()` returns once it has."""
        if self._server is not None:
            self._server.should_exit = True

    async def wait(self) -> None:
        """Until the server stops (request_stop() or stop())."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
            except TimeoutError:
                self._server.force_exit = True
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._server = self._task = None
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_dashboard(config: CanariaConfig, listen: str | None = None, lang: str = "en", *,
                          store: Store | None = None, operator_factory: OperatorFactory | None = None,
                          on_ready: Any = None, **app_options: Any) -> None:
    """Serve until cancelled. `on_ready(url)` is called once it listens.

    Inside `canaria demo`: `asyncio.create_task(serve_dashboard(config, listen, lang, store=app.store,
    operator_factory=shared_operator_factory(app.controller), on_ready=print))`; cancel the task to stop.
    """
    server = DashboardServer(config, listen=listen, lang=lang, store=store, operator_factory=operator_factory,
                             **app_options)
    url = await server.start()
    try:
        if on_ready is not None:
            on_ready(url)
        await server.wait()
    finally:
        await asyncio.shield(server.stop())
