"""The Gateway object that ties router, pools, meter, proxy and admin together, and `run_gateway`.

Both listen sockets are bound before anything is served, so a taken port fails fast with
PortInUseError and no half-started gateway is left behind. Stopping is graceful: the listeners close,
idle keep-alive connections are dropped, requests in flight finish (up to `drain_timeout`), and only
then are the remaining connections and upstream pools closed.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from canaria.config import CanariaConfig, parse_address
from canaria.errors import GatewayError
from canaria.gateway.admin import AdminServer
from canaria.gateway.channel import channel_factory
from canaria.gateway.conns import ConnectionLimits, Connections
from canaria.gateway.forwarding import TrustedProxies
from canaria.gateway.handoff import SocketHandoff, handoff_path
from canaria.gateway.listen import bind_listener, fd_bounded
from canaria.gateway.measure import GatewayCollector, Meter
from canaria.gateway.pool import Pools
from canaria.gateway.proxy import Proxy
from canaria.gateway.router import Route, RouteMatch, Router, Upstream
from canaria.gateway.state import PersistedState, load_state, save_state, state_file_for

__all__ = ["METRICS_PATH", "STATUS_PATH", "Gateway", "StatusProvider", "run_gateway"]

log = logging.getLogger("canaria.gateway")

STATUS_PATH = "/api/v2/canary/status"
METRICS_PATH = "/api/v2/canary/metrics"
DEFAULT_ADMIN_TOKEN = "change-me"

#: Returns extra fields merged over the gateway's own payload (sync or async).
StatusProvider = Callable[[], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class Gateway:
    """The embedded data plane: public proxy port plus admin port, in the running event loop."""

    def __init__(
        self,
        config: CanariaConfig,
        *,
        status_provider: StatusProvider | None = None,
        metrics_provider: StatusProvider | None = None,
        state_file: Path | None = None,
        drain_timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.service = config.service
        self.boot_id = uuid.uuid4().hex
        self.started_at = time.time()
        self.drain_timeout = drain_timeout
        self.state_file = state_file or state_file_for(config.state_path, config.service)
        gw = config.gateway
        self._status_provider = status_provider
        self._metrics_provider = metrics_provider
        self.router = Router(self._initial_route(), gw.sticky)
        self.meter = Meter()
        self.pools = Pools(connect_timeout=gw.connect_timeout)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(GatewayCollector(self.meter, lambda: self.router.route.canary_weight))
        limits = ConnectionLimits(
            header_timeout=gw.header_timeout,
            body_timeout=gw.body_timeout,
            keepalive_timeout=gw.keepalive_timeout,
            send_timeout=gw.send_timeout,
            max_connections=fd_bounded(gw.max_connections),
            max_per_ip=gw.max_connections_per_ip,
        )
        self._public_conns = Connections(limits)
        self._admin_conns = Connections(limits)
        self._proxy = Proxy(
            router=self.router,
            pools=self.pools,
            meter=self.meter,
            connections=self._public_conns,
            upstream_timeout=gw.upstream_timeout,
            local_endpoints={STATUS_PATH: self._public_status, METRICS_PATH: self._public_metrics},
            stream_idle_timeout=gw.stream_idle_timeout,
            retry_on_stable=gw.retry_on_stable,
            trusted_proxies=TrustedProxies(gw.trusted_proxies),
        )
        default_token = gw.admin_token == DEFAULT_ADMIN_TOKEN and not gw.admin_token_insecure_ok
        self._admin = AdminServer(self, self._admin_conns, gw.admin_token, refuse_token=default_token)
        self._servers: list[asyncio.Server] = []
        self._sweepers: list[asyncio.Task[None]] = []
        self._watchdog: asyncio.Task[None] | None = None
        self._handoff: SocketHandoff | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.public_port = 0
        self.admin_port = 0

    def _initial_route(self) -> Route:
        platform = self.config.platform
        saved = load_state(self.state_file)
        if saved is not None:
            try:
                canary = Upstream.parse(saved.canary) if saved.canary else None
                route = Route(saved.canary_weight, Upstream.parse(saved.stable), canary, self._saved_match(saved))
                log.info(
                    "gateway: restored weight %g%% and upstreams from %s",
                    saved.canary_weight,
                    self.state_file,
                )
                return route
            except ValueError as exc:
                log.warning("gateway: ignoring saved upstreams in %s: %s", self.state_file, exc)
        if platform.stable is None or platform.canary is None:
            raise GatewayError("the embedded gateway needs platform.stable and platform.canary")
        return Route(0.0, Upstream.parse(platform.stable.base_url), Upstream.parse(platform.canary.base_url))

    @staticmethod
    def _saved_match(saved: PersistedState) -> RouteMatch | None:
        return RouteMatch.from_dict(saved.match) if saved.match else None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind both ports (PortInUseError if taken) and start serving."""
        gw = self.config.gateway
        public_sock = bind_listener(gw.listen, "public")
        try:
            admin_sock = bind_listener(gw.admin_listen, "admin")
        except BaseException:
            public_sock.close()
            raise
        self.public_port = public_sock.getsockname()[1]
        self.admin_port = admin_sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._servers = [
            await loop.create_server(channel_factory(self._proxy.handle_connection), sock=public_sock),
            await loop.create_server(channel_factory(self._admin.handle_connection), sock=admin_sock),
        ]
        self._sweepers = [
            asyncio.create_task(self._public_conns.run_sweeper()),
            asyncio.create_task(self._admin_conns.run_sweeper()),
        ]
        self._watchdog = asyncio.create_task(self._proxy.watchdog())
        self._handoff = SocketHandoff(handoff_path(self.config.state_path, self.service), public_sock)
        self._handoff.start()
        if gw.admin_token == DEFAULT_ADMIN_TOKEN:
            if gw.admin_token_insecure_ok:
                log.warning("gateway: admin_token is the default 'change-me' (allowed by admin_token_insecure_ok)")
            else:
                log.error(
                    "gateway: admin_token is the default 'change-me', so the admin API refuses it; "
                    "set gateway.admin_token (or gateway.admin_token_insecure_ok: true for a local experiment)"
                )
        log.info(
            "gateway %s: public %s:%d, admin %s:%d, canary weight %g%%",
            self.service,
            parse_address(gw.listen)[0],
            self.public_port,
            parse_address(gw.admin_listen)[0],
            self.admin_port,
            self.router.route.canary_weight,
        )

    async def stop(self) -> None:
        """Stop accepting, finish requests in flight, then close everything. Safe to call twice."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        if self._handoff is not None:
            self._handoff.close()
        for server in self._servers:
            server.close()
        self._public_conns.drain()
        self._admin_conns.drain()
        for conns in (self._public_conns, self._admin_conns):
            if not await conns.wait_closed(self.drain_timeout):
                log.warning(
                    "gateway: %d connections still open after %gs; closing them",
                    len(conns),
                    self.drain_timeout,
                )
                await conns.abort_all()
        for server in self._servers:
            await server.wait_closed()
        if self._watchdog is not None:  # kept until here: requests still in flight need their timeout
            self._watchdog.cancel()
        for sweeper in self._sweepers:
            sweeper.cancel()
        self.pools.close()
        self._stopped.set()
        log.info("gateway %s stopped", self.service)

    def request_stop(self) -> None:
        """Begin a graceful stop from a signal handler or the admin API."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())

    @property
    def stopping(self) -> bool:
        """True once a stop has begun (signal, admin shutdown, `stop()` or `request_stop()`)."""
        return self._stopping is not None

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    async def serve(self) -> None:
        """Start, then run until stopped (signal, admin shutdown or `request_stop`)."""
        await self.start()
        await self.wait_stopped()

    # ------------------------------------------------------------ control (used by the admin API)

    @property
    def canary_weight(self) -> float:
        return self.router.route.canary_weight

    def _apply(self, route: Route) -> None:
        """Persist first, then swap: a change that cannot be saved does not happen."""
        try:
            save_state(
                self.state_file,
                PersistedState(
                    route.canary_weight,
                    route.stable.url,
                    route.canary.url if route.canary else None,
                    route.match.to_dict() if route.match else None,
                ),
            )
        except OSError as exc:
            raise GatewayError(
                f"cannot save gateway state to {self.state_file}: {exc.strerror or exc}"
            ) from None
        self.router.route = route
        self.pools.keep_only({u.url for u in (route.stable, route.canary) if u is not None})

    def set_canary_weight(self, weight: float) -> None:
        if not 0.0 <= weight <= 100.0:
            raise ValueError("canary weight must be from 0 to 100")
        current = self.router.route
        self._apply(Route(float(weight), current.stable, current.canary, current.match))

    def set_route(self, weight: float, match: RouteMatch | None) -> None:
        """Weight and tester route together, as one change."""
        if not 0.0 <= weight <= 100.0:
            raise ValueError("canary weight must be from 0 to 100")
        current = self.router.route
        self._apply(Route(float(weight), current.stable, current.canary, match))

    def set_upstreams(self, stable: str, canary: str | None) -> None:
        """Replace both upstreams (on promotion the canary becomes stable); ValueError on a bad URL."""
        stable_upstream = Upstream.parse(stable)
        canary_upstream = Upstream.parse(canary) if canary is not None else None
        current = self.router.route
        match = current.match if canary_upstream is not None else None  # no canary: nothing to test
        self._apply(Route(current.canary_weight, stable_upstream, canary_upstream, match))

    def health(self) -> dict[str, Any]:
        return {"ok": True, "pid": os.getpid(), "boot_id": self.boot_id}

    def state(self) -> dict[str, Any]:
        route = self.router.route
        return {
            "canary_weight": route.canary_weight,
            "match": route.match.to_dict() if route.match else None,
            "upstreams": route.upstreams_dict(),
            "sticky": self.router.sticky,
            "boot_id": self.boot_id,
            "started_at": self.started_at,
            "pid": os.getpid(),
        }

    def window_payload(self, *, cut: bool) -> dict[str, Any]:
        snapshot = self.meter.cut() if cut else self.meter.window()
        return snapshot.to_dict(self.canary_weight)

    def totals_payload(self) -> dict[str, Any]:
        return self.meter.totals().to_dict(self.canary_weight)

    def metrics_text(self) -> bytes:
        return generate_latest(self.registry)

    # ------------------------------------------------------------ public-port answers

    async def _provided(self, provider: StatusProvider | None, base: dict[str, Any]) -> dict[str, Any]:
        if provider is None:
            return base
        extra = provider()
        if inspect.isawaitable(extra):
            extra = await extra
        return {**base, **dict(extra)}

    async def _public_status(self) -> dict[str, object]:
        route = self.router.route
        base: dict[str, Any] = {"service": self.service, "canary_weight": route.canary_weight}
        payload = await self._provided(self._status_provider, base)
        if self.config.gateway.public_status_upstreams:
            payload["upstreams"] = route.upstreams_dict()
        else:  # addresses behind the gateway are not the public's business
            payload = _without_addresses(payload)
        return payload

    async def _public_metrics(self) -> dict[str, object]:
        base = {
            "service": self.service,
            "canary_weight": self.canary_weight,
            "window": self.meter.window().summary(),
            "totals": self.meter.totals().summary(),
        }
        return await self._provided(self._metrics_provider, base)


_ADDRESS_KEYS = frozenset({"upstreams", "url", "urls", "stable_url", "canary_url", "base_url"})


def _without_addresses(payload: Any) -> Any:
    """The payload with every upstream address field removed, at any depth."""
    if isinstance(payload, dict):
        return {k: _without_addresses(v) for k, v in payload.items() if k not in _ADDRESS_KEYS}
    if isinstance(payload, list):
        return [_without_addresses(v) for v in payload]
    return payload


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # optional speed-up; the stdlib loop is correct, only slower
        return None
    return uvloop.new_event_loop


def run_gateway(
    config: CanariaConfig,
    *,
    status_provider: StatusProvider | None = None,
    metrics_provider: StatusProvider | None = None,
) -> None:
    """Run the gateway in the foreground until SIGINT/SIGTERM or `POST /admin/shutdown`.

    Raises PortInUseError (naming the port) before serving anything when a listen address is taken.
    """

    async def main() -> None:
        gateway = Gateway(config, status_provider=status_provider, metrics_provider=metrics_provider)
        await gateway.start()
        # Everything alive now lives as long as the process: keep it out of the cyclic collector's
        # full passes, which would otherwise add milliseconds to the latency tail of whichever request
        # happens to trigger one.
        gc.freeze()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, gateway.request_stop)
        try:
            await gateway.wait_stopped()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())
