"""Two-way byte tunnel for switched protocols (WebSocket, h2c-less Upgrade), after a 101.

Once the upstream has answered 101 the gateway no longer understands the bytes, so it copies them
both ways until both sides have closed. Each direction half-closes the other when its source ends
(a WebSocket close handshake then completes end to end). The tunnel is governed by its own idle
timeout — no byte in either direction for that long — rather than the request timeouts, because a
quiet WebSocket is normal; ending it that way, or by either side closing, is not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from canaria.gateway.channel import Channel

__all__ = ["TUNNEL_CLOSED", "TUNNEL_IDLE", "tunnel"]

TUNNEL_CLOSED = "closed"
TUNNEL_IDLE = "idle"

_PIECE = 65536


class _Activity:
    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = time.monotonic()


async def _pump(src: Channel, dst: Channel, activity: _Activity) -> None:
    try:
        while True:
            data = await src.read(_PIECE)
            if not data:
                break
            activity.last = time.monotonic()
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass  # a reset ends this direction like a close does
    finally:
        if not dst.is_closing() and dst.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                dst.write_eof()


async def tunnel(
    client_reader: Channel,
    client_writer: Channel,
    upstream_reader: Channel,
    upstream_writer: Channel,
    *,
    idle_timeout: float,
) -> str:
    """Copy bytes both ways until both directions end (TUNNEL_CLOSED) or nothing moved for
    `idle_timeout` seconds (TUNNEL_IDLE). The caller closes both connections afterwards."""
    activity = _Activity()
    pumps = {
        asyncio.ensure_future(_pump(client_reader, upstream_writer, activity)),
        asyncio.ensure_future(_pump(upstream_reader, client_writer, activity)),
    }
    tick = max(0.05, min(1.0, idle_timeout / 4))
    try:
        while pumps:
            done, pumps = await asyncio.wait(pumps, timeout=tick)
            if pumps and time.monotonic() - activity.last > idle_timeout:
                return TUNNEL_IDLE
        return TUNNEL_CLOSED
    finally:
        for pump in pumps:
            pump.cancel()
        if pumps:
            await asyncio.gather(*pumps, return_exceptions=True)
