"""Open client connections, so shutdown can finish what is in flight and drop what is idle.

A connection is *idle* while it waits for the next request head on a keep-alive connection; closing
it then loses nothing. A busy connection is marked draining and closes itself after its current
response (which then carries `Connection: close`).
"""

from __future__ import annotations

import asyncio
import time

from canaria.gateway.http import HttpError, RequestHead, json_response, parse_request_head

__all__ = ["ClientConnection", "Connections"]


class ClientConnection:
    __slots__ = ("draining", "idle", "idle_since", "task", "writer")

    def __init__(self, writer: asyncio.StreamWriter, task: asyncio.Task[object] | None) -> None:
        self.writer = writer
        self.task = task
        self.idle = True
        self.idle_since = time.monotonic()
        self.draining = False


async def next_request_head(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: ClientConnection
) -> RequestHead | None:
    """The next request head on a keep-alive connection, or None when the connection should close
    (client gone, draining, or a bad head — answered with 431/4xx first). Shared by both listeners so
    the public proxy and the admin API treat clients alike; stray CRLFs are skipped (RFC 9112 2.2)."""
    while not conn.draining:
        conn.idle = True
        conn.idle_since = time.monotonic()
        try:
            data = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            writer.write(json_response(431, {"error": "request head too large"}, keep_alive=False))
            return None
        except (asyncio.IncompleteReadError, OSError):
            return None
        conn.idle = False
        if data[:2] == b"\r\n":
            data = data.lstrip(b"\r\n")
            if not data:
                continue
        try:
            return parse_request_head(data)
        except HttpError as exc:
            writer.write(json_response(exc.status, {"error": exc.message}, keep_alive=False))
            return None
    return None


class Connections:
    """The set of open client connections of one listener (public or admin)."""

    def __init__(self) -> None:
        self._open: set[ClientConnection] = set()
        self._empty = asyncio.Event()
        self._empty.set()
        self.draining = False

    def __len__(self) -> int:
        return len(self._open)

    def open(self, writer: asyncio.StreamWriter) -> ClientConnection:
        conn = ClientConnection(writer, asyncio.current_task())
        conn.draining = self.draining
        self._open.add(conn)
        self._empty.clear()
        return conn

    def close(self, conn: ClientConnection) -> None:
        self._open.discard(conn)
        if not self._open:
            self._empty.set()

    def drain(self) -> None:
        """Close idle connections now; busy ones close after their current response."""
        self.draining = True
        for conn in list(self._open):
            conn.draining = True
            if conn.idle:
                conn.writer.close()

    def reap_idle(self, max_idle_s: float) -> int:
        """Close keep-alive connections idle for longer than `max_idle_s`; returns how many."""
        limit = time.monotonic() - max_idle_s
        stale = [c for c in self._open if c.idle and c.idle_since < limit]
        for conn in stale:
            conn.writer.close()
        return len(stale)

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
