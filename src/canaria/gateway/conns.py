"""Open client connections: their limits, their deadlines, and shutdown.

Every connection carries one deadline for what it is waiting on (the first request head, the next one
on a keep-alive connection, or a request body); one sweep per listener closes the overdue ones, so a
stalled client costs no timer per request and can never hold a file descriptor for ever. The same
sweep drops a connection whose client has stopped reading: its write buffer has stayed above the
transport's high-water mark for longer than `send_timeout`. A client
stalled in the middle of a request gets 408 first; an idle keep-alive connection is just closed.

Admission is bounded too: over `max_connections` in total, or `max_per_ip` from one address, a new
connection is answered 503 at once and closed, so neither a flood nor one greedy client can use up the
process's file descriptors.

A connection is *idle* while it waits for the next request head on a keep-alive connection; closing
it then loses nothing. A busy connection is marked draining and closes itself after its current
response (which then carries `Connection: close`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from canaria.gateway.channel import Channel
from canaria.gateway.http import HttpError, RequestHead, json_response, parse_request_head

__all__ = ["ClientConnection", "ConnectionLimits", "Connections", "next_request_head"]

#: What a connection waits for; only these phases have a deadline.
WAIT_NONE = 0
WAIT_FIRST_HEAD = 1
WAIT_NEXT_HEAD = 2
WAIT_BODY = 3


@dataclass(frozen=True)
class ConnectionLimits:
    """Deadlines (seconds) and admission caps of one listener."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 60.0
    #: how long a connection's write buffer may stay above the high-water mark (a client not reading)
    send_timeout: float = 30.0
    max_connections: int = 4096
    max_per_ip: int = 512

    @property
    def sweep_interval(self) -> float:
        timeouts = (self.header_timeout, self.body_timeout, self.keepalive_timeout, self.send_timeout)
        return max(0.05, min(0.5, *(t / 4 for t in timeouts)))


class ClientConnection:
    __slots__ = ("deadline", "draining", "idle", "ip", "requests", "task", "waiting", "writer")

    def __init__(self, writer: Channel, task: asyncio.Task[object] | None, ip: str) -> None:
        self.writer = writer
        self.task = task
        self.ip = ip
        self.idle = True
        self.draining = False
        self.waiting = WAIT_NONE
        self.deadline = 0.0  # monotonic; meaningful while `waiting` is not WAIT_NONE
        self.requests = 0  # heads read so far

    def expect(self, what: int, within: float) -> None:
        self.waiting = what
        self.deadline = time.monotonic() + within

    def done_waiting(self) -> None:
        self.waiting = WAIT_NONE

    def expire(self) -> None:
        """Close an overdue connection (408 first when a request was under way)."""
        if self.waiting in (WAIT_FIRST_HEAD, WAIT_BODY) and not self.writer.is_closing():
            what = "request body" if self.waiting == WAIT_BODY else "request head"
            self.writer.write(json_response(408, {"error": f"{what} not received in time"}, keep_alive=False))
        self.waiting = WAIT_NONE
        self.writer.close()


async def next_request_head(
    reader: Channel, writer: Channel, conn: ClientConnection, limits: ConnectionLimits
) -> RequestHead | None:
    """The next request head on a connection, or None when the connection should close (client gone,
    draining, overdue, or a bad head — answered with 431/4xx first). Shared by both listeners so the
    public proxy and the admin API treat clients alike."""
    if conn.draining:
        return None
    conn.idle = True
    if conn.requests:  # ClientConnection.expect, inlined: this runs for every request
        conn.waiting = WAIT_NEXT_HEAD
        conn.deadline = time.monotonic() + limits.keepalive_timeout
    else:
        conn.waiting = WAIT_FIRST_HEAD
        conn.deadline = time.monotonic() + limits.header_timeout
    try:
        data = await reader.read_request_head()
    except asyncio.LimitOverrunError:
        writer.write(json_response(431, {"error": "request head too large"}, keep_alive=False))
        return None
    except HttpError as exc:
        writer.write(json_response(exc.status, {"error": exc.message}, keep_alive=False))
        return None
    except (asyncio.IncompleteReadError, OSError):
        return None
    finally:
        conn.waiting = WAIT_NONE
    conn.idle = False
    conn.requests += 1
    try:
        return parse_request_head(data)
    except HttpError as exc:
        writer.write(json_response(exc.status, {"error": exc.message}, keep_alive=False))
        return None


def peer_ip(writer: Channel) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


class Connections:
    """The set of open client connections of one listener (public or admin)."""

    def __init__(self, limits: ConnectionLimits | None = None) -> None:
        self.limits = limits or ConnectionLimits()
        self._open: set[ClientConnection] = set()
        self._per_ip: dict[str, int] = {}
        self._empty = asyncio.Event()
        self._empty.set()
        self.draining = False
        self.refused = 0  # connections turned away by a limit, for tests and diagnostics
        self.send_timeouts = 0  # connections dropped because their client stopped reading

    def __len__(self) -> int:
        return len(self._open)

    def open(self, writer: Channel) -> ClientConnection | None:
        """Register a new connection, or answer 503 and return None when a limit is reached."""
        ip = peer_ip(writer)
        limits = self.limits
        if len(self._open) >= limits.max_connections or self._per_ip.get(ip, 0) >= limits.max_per_ip:
            self.refused += 1
            which = "per client" if len(self._open) < limits.max_connections else "in total"
            writer.write(
                json_response(
                    503, {"error": f"too many connections {which}"}, keep_alive=False, extra_headers=b"Retry-After: 1\r\n"
                )
            )
            writer.close()
            return None
        conn = ClientConnection(writer, asyncio.current_task(), ip)
        conn.draining = self.draining
        self._open.add(conn)
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        self._empty.clear()
        return conn

    def close(self, conn: ClientConnection) -> None:
        if conn in self._open:
            self._open.discard(conn)
            left = self._per_ip[conn.ip] - 1
            if left:
                self._per_ip[conn.ip] = left
            else:
                del self._per_ip[conn.ip]
        if not self._open:
            self._empty.set()

    def drain(self) -> None:
        """Close idle connections now; busy ones close after their current response."""
        self.draining = True
        for conn in list(self._open):
            conn.draining = True
            if conn.idle:
                conn.writer.close()

    def sweep(self) -> int:
        """Close connections whose head or body is overdue, or whose client has left a response unread
        for longer than the send timeout; returns how many."""
        now = time.monotonic()
        overdue = [c for c in self._open if c.waiting != WAIT_NONE and c.deadline <= now]
        for conn in overdue:
            conn.expire()
        # A client that never reads keeps the transport above its high-water mark: the handler waits in
        # drain() for ever and the unsent bytes pile up. Dropping what is unsent is all that is left.
        unread_since = now - self.limits.send_timeout
        stalled = [c for c in self._open if 0.0 < c.writer.write_blocked_since <= unread_since]
        for conn in stalled:
            conn.writer.abort()
        self.send_timeouts += len(stalled)
        return len(overdue) + len(stalled)

    async def run_sweeper(self) -> None:
        """Sweep for the listener's life."""
        while True:
            await asyncio.sleep(self.limits.sweep_interval)
            self.sweep()

    async def wait_closed(self, timeout: float) -> bool:
        """Wait until every connection has closed; False when `timeout` ran out first."""
        try:
            async with asyncio.timeout(timeout):
                await self._empty.wait()
        except TimeoutError:
            return False
        return True

    async def abort_all(self) -> None:
        """Cancel the handlers of connections that outlived the drain timeout."""
        tasks = []
        for conn in list(self._open):
            conn.writer.close()
            if conn.task is not None and not conn.task.done():
                conn.task.cancel()
                tasks.append(conn.task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
