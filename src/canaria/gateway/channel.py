"""One socket as a lean reader and writer: an asyncio Protocol with the StreamReader/StreamWriter calls
the gateway uses, and nothing else.

asyncio's streams put two objects and several layers of pure-Python code (StreamReaderProtocol,
FlowControlMixin, StreamReader's generic search loop) between the transport and the proxy. A Channel
keeps one buffer and one waiter, reads a whole request head in one call (`read_request_head`), hands
over a body that is already buffered without a coroutine (`take`), and never calls
`asyncio.get_running_loop()` per read (a getpid() system call on Python 3.11).

Reads raise what StreamReader raises (IncompleteReadError at EOF, LimitOverrunError past the limit,
the connection's own OSError once it was lost), so code written against streams (relay.py, tunnel.py)
works on either. Writes honour the transport's high-water mark: `drain()` waits only while the
transport has paused writing, and `write_blocked_since` tells the sweeper how long a client has left
a response unread (see conns.py: send timeout).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from canaria.gateway.http import MAX_HEAD_BYTES, HttpError

__all__ = ["Channel", "channel_factory", "open_channel"]

Handler = Callable[["Channel", "Channel"], Coroutine[Any, Any, None]]


class Channel(asyncio.Protocol):
    """A connection's read buffer, its transport, and the flow-control state of both directions."""

    __slots__ = (
        "_buffer",
        "_drain_waiter",
        "_eof",
        "_exception",
        "_handler",
        "_limit",
        "_loop",
        "_lost",
        "_pause_at",
        "_reading_paused",
        "_task",
        "_waiter",
        "reusable",
        "transport",
        "write_blocked_since",
    )

    def __init__(self, handler: Handler | None = None, *, limit: int = MAX_HEAD_BYTES) -> None:
        self._buffer = bytearray()
        self._limit = limit
        self._pause_at = 2 * limit  # buffered bytes at which reading pauses
        #: open, not closed or half-closed by either side: an upstream connection that may carry another request
        self.reusable = False
        self._eof = False
        self._lost = False
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._handler = handler
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        #: monotonic time since which the transport's write buffer is above its high-water mark; 0 if not
        self.write_blocked_since = 0.0

    # ------------------------------------------------------------ protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # kept: asyncio.get_running_loop() costs a getpid() system call on Python 3.11
        self._loop = loop = asyncio.get_running_loop()
        self.reusable = True
        if self._handler is not None:
            self._task = loop.create_task(self._handler(self, self))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if len(buffer) > self._pause_at and not self._reading_paused:
            try:
                self.transport.pause_reading()
                self._reading_paused = True
            except NotImplementedError:  # e.g. an SSL transport that cannot pause
                pass

    def eof_received(self) -> bool:
        self._eof = True
        self.reusable = False
        self._wake()
        # Keep the transport open: a half-closed client still gets its response, and a tunnel relays
        # the other direction on. (An SSL transport cannot stay half-open, so it is closed.)
        return self.transport.get_extra_info("sslcontext") is None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self.reusable = False
        self._eof = True
        if exc is not None:
            self._exception = exc
        self._wake()
        self.write_blocked_since = 0.0
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_exception(exc or ConnectionResetError("Connection lost"))
                waiter.exception()  # nobody may be waiting: do not log "never retrieved"

    def pause_writing(self) -> None:
        self.write_blocked_since = time.monotonic()

    def resume_writing(self) -> None:
        self.write_blocked_since = 0.0
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> None:
        if self._exception is not None:
            raise self._exception
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
        waiter = self._loop.create_future()  # type: ignore[union-attr]
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def _consumed(self) -> None:
        if self._reading_paused and len(self._buffer) <= self._limit:
            self._reading_paused = False
            self.transport.resume_reading()

    # ------------------------------------------------------------ reading (the StreamReader subset)

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    def idle_and_open(self) -> bool:
        """Neither side has closed and nothing unread is buffered: the connection may carry another
        request (bytes left over after a response would otherwise be read as the next one's)."""
        return self.reusable and not self._buffer

    def exception(self) -> BaseException | None:
        return self._exception

    def _cut(self, n: int) -> bytes:
        """The first `n` buffered bytes (all of them when `n` reaches the end), taken off the buffer."""
        buffer = self._buffer
        if n >= len(buffer):
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:n])
            del buffer[:n]
        if self._reading_paused:
            self._consumed()
        return data

    def _ended(self, expected: int | None) -> BaseException:
        """What a read that needs more bytes after the end of the stream raises: the connection's error, or
        IncompleteReadError carrying what was left."""
        if self._exception is not None:
            return self._exception
        partial = bytes(self._buffer)
        self._buffer.clear()
        return asyncio.IncompleteReadError(partial, expected)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        buffer = self._buffer
        start = 0
        width = len(separator)
        while True:
            index = buffer.find(separator, start)
            if index >= 0:
                end = index + width
                if end > self._limit:
                    raise asyncio.LimitOverrunError("separator found past the limit", index)
                return self._cut(end)
            if len(buffer) > self._limit:
                raise asyncio.LimitOverrunError("separator not found within the limit", len(buffer))
            if self._eof:
                raise self._ended(None)
            start = max(0, len(buffer) - width + 1)
            await self._wait()

    def take(self, n: int) -> bytes | None:
        """Exactly `n` bytes if they are already buffered, else None (then `await readexactly(n)`):
        a small response body usually arrives with its head, and needs no coroutine."""
        return self._cut(n) if len(self._buffer) >= n else None

    async def readexactly(self, n: int) -> bytes:
        buffer = self._buffer
        while len(buffer) < n:
            if self._eof:
                raise self._ended(n)
            await self._wait()
        return self._cut(n)

    async def read(self, n: int = -1) -> bytes:
        buffer = self._buffer
        while not buffer:
            if self._eof:
                if self._exception is not None:
                    raise self._exception
                return b""
            await self._wait()
        return self._cut(len(buffer) if n < 0 else n)

    async def read_request_head(self) -> bytes:
        """The raw bytes of the next request head, stray leading CRLFs skipped (RFC 9112 2.2).

        A request line that does not end in CRLF is refused as soon as its LF is in, rather than after
        waiting for a CRLF CRLF that may never come. After an HTTP/1.1 request line the head ends at the
        first LF CRLF; after any other it ends at the first empty line (CRLF or bare LF), since an
        HTTP/1.0 head may have no field at all. Bare LFs inside are refused later by the parser.
        Raises HttpError (bad request line), LimitOverrunError (head too large), IncompleteReadError."""
        buffer = self._buffer
        while True:
            while buffer.startswith(b"\r\n"):
                del buffer[:2]
            newline = buffer.find(b"\n")
            if newline >= 0:
                if newline == 0 or buffer[newline - 1] != 13:
                    raise HttpError(400, "request line must end in CRLF")
                if newline >= 10 and buffer[newline - 10 : newline + 1] == b" HTTP/1.1\r\n":
                    # Host is mandatory, so a field follows: the end is an LF CRLF after this line's
                    end = buffer.find(b"\n\r\n", newline + 1)
                    end = end + 3 if end >= 0 else -1
                else:
                    crlf = buffer.find(b"\n\r\n", newline)
                    lf = buffer.find(b"\n\n", newline)
                    if crlf >= 0 and (lf < 0 or crlf < lf):
                        end = crlf + 3
                    else:
                        end = lf + 2 if lf >= 0 else -1
                if end >= 0:
                    if end > MAX_HEAD_BYTES:
                        raise asyncio.LimitOverrunError("request head too large", end)
                    return self._cut(end)  # the usual case: the head is all there is
            if len(buffer) > MAX_HEAD_BYTES:
                raise asyncio.LimitOverrunError("request head too large", len(buffer))
            if self._eof:
                raise self._ended(None)
            await self._wait()

    # ------------------------------------------------------------ writing (the StreamWriter subset)

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the transport's buffer is above its high-water mark; raises once the connection
        was lost, like StreamWriter.drain."""
        if self._lost:
            raise self._exception or ConnectionResetError("Connection lost")
        if not self.write_blocked_since:
            return
        waiter = self._drain_waiter
        if waiter is None:
            waiter = self._loop.create_future()  # type: ignore[union-attr]
            self._drain_waiter = waiter
        await waiter

    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()

    def write_eof(self) -> None:
        self.transport.write_eof()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        self.reusable = False
        self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping whatever is still unsent (a client that stopped reading)."""
        self.reusable = False
        self.transport.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The handler task a server-side channel runs (None on an outgoing connection)."""
        return self._task


def channel_factory(handler: Handler) -> Callable[[], Channel]:
    """The protocol factory for `loop.create_server`: each connection runs `handler(channel, channel)`."""
    return lambda: Channel(handler)


async def open_channel(host: str, port: int, **kwargs: Any) -> Channel:
    """An outgoing connection (kwargs as for `loop.create_connection`: ssl, server_hostname)."""
    loop = asyncio.get_running_loop()
    _transport, channel = await loop.create_connection(Channel, host, port, **kwargs)
    return channel
