"""One request/response exchange with an upstream, up to the response head (and a small body).

Split from the proxy so that the client side (proxy.py: routing, retries, relaying to the client) and
the upstream side (this module: pooled connections, sending, reading the head, deadlines) each read on
their own. A pooled connection the upstream had already closed is retried once on a fresh one, but
only for an idempotent method whose body was not streamed, so it can be replayed exactly. Response-head
deadlines are enforced by one watchdog task rather than a timer per request.
"""

from __future__ import annotations

import asyncio
import time

from canaria.gateway.channel import Channel
from canaria.gateway.http import (
    BODY_CHUNKED,
    BODY_LENGTH,
    BODY_NONE,
    HttpError,
    RequestHead,
    ResponseHead,
    parse_response_head,
)
from canaria.gateway.pool import UpstreamConnection, UpstreamPool, UpstreamTimeout, UpstreamUnreachable
from canaria.gateway.relay import FramingError, SourceError, copy_chunked, copy_exact

__all__ = ["BUFFER_BODY_BYTES", "IDEMPOTENT", "ClientGone", "Exchanger", "UpstreamFailure"]

#: Request and response bodies up to this size are read whole and sent with their head in one write.
BUFFER_BODY_BYTES = 65536
#: Methods that may be sent twice (RFC 9110 9.2.2): a POST the upstream may have acted on is never replayed.
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})


class UpstreamFailure(Exception):
    """The exchange failed before a response head reached the client."""

    def __init__(self, status: int, reason: str, *, retryable: bool = False, sent: bool = True) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retryable = retryable
        #: False when no connection could be made: the upstream never saw the request, so even a
        #: non-idempotent one may be sent elsewhere
        self.sent = sent


class ClientGone(Exception):
    """The client broke off while its request body was being relayed."""


class Exchanger:
    """Sends requests upstream and reads their response heads, under the upstream timeout."""

    def __init__(self, *, upstream_timeout: float, body_timeout: float) -> None:
        self._timeout = upstream_timeout
        self._body_timeout = body_timeout
        self._waiting: set[UpstreamConnection] = set()  # exchanges waiting for a response head

    async def exchange(
        self,
        pool: UpstreamPool,
        request: bytes,
        body: bytes,
        streamed: bool,
        head: RequestHead,
        client_reader: Channel,
        client_writer: Channel,
    ) -> tuple[UpstreamConnection, ResponseHead, bytes | None]:
        """Send the request and read the response head (and a small body); retries a stale pooled
        connection once."""
        fresh = streamed
        while True:
            upstream_conn = None if fresh else pool.take_idle()
            if upstream_conn is None:
                try:
                    upstream_conn = await pool.connect()
                except UpstreamTimeout as exc:
                    raise UpstreamFailure(504, f"unreachable: {exc}", sent=False) from None
                except UpstreamUnreachable as exc:
                    raise UpstreamFailure(502, f"unreachable: {exc}", sent=False) from None
            try:
                upstream_conn.writer.write(request + body if body else request)
                if streamed:
                    await self._stream_request_body(head, client_reader, upstream_conn)
                response, small_body = await self._read_response(upstream_conn, head, client_writer)
                return upstream_conn, response, small_body
            except UpstreamFailure as failure:
                upstream_conn.close()
                replayable = not streamed and head.method in IDEMPOTENT
                if failure.retryable and upstream_conn.reused and replayable and not fresh:
                    fresh = True
                    continue
                raise
            except BaseException:
                upstream_conn.close()
                raise

    async def _stream_request_body(
        self, head: RequestHead, client_reader: Channel, upstream_conn: UpstreamConnection
    ) -> None:
        try:
            if head.body_kind == BODY_CHUNKED:
                await copy_chunked(client_reader, upstream_conn.writer, idle_timeout=self._body_timeout)
            else:
                await copy_exact(
                    client_reader, upstream_conn.writer, head.content_length or 0, idle_timeout=self._body_timeout
                )
        except FramingError as exc:
            raise HttpError(400, f"malformed request body: {exc}") from None
        except SourceError:
            raise ClientGone() from None
        except (ConnectionError, OSError) as exc:
            raise UpstreamFailure(
                502, f"failed: connection lost while sending the request body ({exc})"
            ) from None

    async def _read_response(
        self, upstream_conn: UpstreamConnection, head: RequestHead, client_writer: Channel
    ) -> tuple[ResponseHead, bytes | None]:
        """The final response head, skipping (or relaying) interim 1xx responses."""
        reader = upstream_conn.reader
        # The deadline is enforced by the watchdog (which closes the connection), not by a per-request
        # asyncio.timeout: that costs a timer-heap push and cancel on every request.
        upstream_conn.deadline = time.monotonic() + self._timeout
        self._waiting.add(upstream_conn)
        try:
            while True:
                data = await reader.readuntil(b"\r\n\r\n")
                response = parse_response_head(data)
                if response.status >= 200:
                    break
                if response.status == 101:
                    if head.upgrade is None or head.body_kind != BODY_NONE:
                        raise UpstreamFailure(502, "failed: switched protocols without being asked to")
                    return response, None
                if response.status != 100 and head.http11:  # e.g. 103 Early Hints
                    client_writer.write(
                        b"".join((b"HTTP/1.1 ", response.reason_line, b"\r\n", response.forward_block, b"\r\n"))
                    )
            small_body = None
            if response.framing(head.method) == BODY_LENGTH:
                length = response.content_length or 0
                if length <= BUFFER_BODY_BYTES:
                    small_body = reader.take(length)
                    if small_body is None:
                        small_body = await reader.readexactly(length)
            return response, small_body
        except asyncio.IncompleteReadError as exc:
            if upstream_conn.timed_out:
                raise self._timed_out() from None
            if not exc.partial:
                raise UpstreamFailure(
                    502, "failed: closed the connection without a response", retryable=True
                ) from None
            raise UpstreamFailure(
                502, "failed: closed the connection in the middle of the response"
            ) from None
        except asyncio.LimitOverrunError:
            raise UpstreamFailure(502, "failed: response head too large") from None
        except HttpError as exc:
            raise UpstreamFailure(502, f"failed: {exc.message}") from None
        except (ConnectionError, OSError) as exc:
            if upstream_conn.timed_out:
                raise self._timed_out() from None
            raise UpstreamFailure(502, f"failed: {exc.strerror or exc}", retryable=True) from None
        finally:
            self._waiting.discard(upstream_conn)

    def _timed_out(self) -> UpstreamFailure:
        return UpstreamFailure(504, f"timed out: no response within {self._timeout:g}s")

    async def watchdog(self) -> None:
        """Close upstream connections whose response head is overdue (runs for the gateway's life)."""
        tick = min(0.25, self._timeout / 5)
        while True:
            await asyncio.sleep(tick)
            if self._waiting:
                now = time.monotonic()
                for upstream_conn in [c for c in self._waiting if c.deadline <= now]:
                    upstream_conn.timed_out = True
                    upstream_conn.close()
