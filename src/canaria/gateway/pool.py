"""Keep-alive connections to one upstream, so a proxied request normally costs no TCP handshake.

Idle connections are reused last-in-first-out: the most recently used one is the least likely to have
been closed by the upstream's own idle timeout. A pool that is retired (its upstream was replaced by a
promotion) closes idle connections at once and every connection handed back to it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections import deque

from canaria.gateway.channel import Channel, open_channel
from canaria.gateway.router import Upstream

__all__ = ["Pools", "UpstreamConnection", "UpstreamPool", "UpstreamTimeout", "UpstreamUnreachable"]


class UpstreamUnreachable(Exception):
    """Connecting to the upstream failed (refused, no route, DNS)."""


class UpstreamTimeout(Exception):
    """The upstream did not accept a connection or answer in time."""


class UpstreamConnection:
    __slots__ = ("deadline", "reader", "reused", "timed_out", "writer")

    def __init__(self, channel: Channel) -> None:
        # one Channel reads and writes; both names are kept so body relays read like stream code
        self.reader = channel
        self.writer = channel
        self.reused = False
        self.deadline = 0.0  # monotonic time by which the response head must have arrived
        self.timed_out = False  # set by the proxy's watchdog when it closed this connection

    def usable(self) -> bool:
        return self.reader.idle_and_open()

    def close(self) -> None:
        self.writer.close()


class UpstreamPool:
    """Idle keep-alive connections to one upstream origin."""

    def __init__(self, upstream: Upstream, *, connect_timeout: float, max_idle: int = 128) -> None:
        self.upstream = upstream
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self.retired = False
        self.connects = 0  # new connections opened, for tests and diagnostics
        self._idle: deque[UpstreamConnection] = deque()
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if upstream.tls else None

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def take_idle(self) -> UpstreamConnection | None:
        """An idle keep-alive connection (marked `reused`), or None; synchronous, so the common case
        costs no coroutine."""
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        return None

    async def acquire(self, *, fresh: bool = False) -> UpstreamConnection:
        """An idle connection or a new one; `fresh` skips the idle ones."""
        conn = None if fresh else self.take_idle()
        return conn if conn is not None else await self.connect()

    async def connect(self) -> UpstreamConnection:
        """A new connection; UpstreamTimeout or UpstreamUnreachable when that fails."""
        up = self.upstream
        try:
            async with asyncio.timeout(self.connect_timeout):
                channel = await open_channel(
                    up.host, up.port, ssl=self._ssl, server_hostname=up.host if self._ssl else None
                )
        except TimeoutError:
            raise UpstreamTimeout(
                f"connect to {up.host}:{up.port} timed out after {self.connect_timeout:g}s"
            ) from None
        except ssl.SSLError as exc:
            reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
            raise UpstreamUnreachable(f"TLS handshake with {up.host}:{up.port} failed: {reason}") from None
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
            raise UpstreamUnreachable(f"connect to {up.host}:{up.port} failed: {reason}") from None
        self.connects += 1
        return UpstreamConnection(channel)

    def release(self, conn: UpstreamConnection, *, reusable: bool) -> None:
        """Hand a connection back after a complete exchange (`reusable`) or close it."""
        if reusable and not self.retired and len(self._idle) < self.max_idle and conn.usable():
            self._idle.append(conn)
        else:
            conn.close()

    def retire(self) -> None:
        """Stop pooling: the upstream is no longer routed to."""
        self.retired = True
        self.close_idle()

    def close_idle(self) -> None:
        while self._idle:
            self._idle.pop().close()


class Pools:
    """One UpstreamPool per upstream URL currently routed to."""

    def __init__(self, *, connect_timeout: float, max_idle: int = 128) -> None:
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._pools: dict[str, UpstreamPool] = {}

    def get(self, upstream: Upstream) -> UpstreamPool:
        pool = self._pools.get(upstream.url)
        if pool is None:
            pool = UpstreamPool(upstream, connect_timeout=self.connect_timeout, max_idle=self.max_idle)
            self._pools[upstream.url] = pool
        return pool

    def keep_only(self, urls: set[str]) -> None:
        """Retire the pools of upstreams that are no longer routed to."""
        for url in [u for u in self._pools if u not in urls]:
            self._pools.pop(url).retire()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.retire()
        self._pools.clear()
