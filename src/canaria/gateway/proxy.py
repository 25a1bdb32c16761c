"""The public port: a stream-level HTTP/1.1 reverse proxy that splits traffic between two upstreams.

One coroutine per client connection reads request heads, picks a variant, relays the exchange over a
pooled upstream connection and streams the body back, so the per-request cost is a few bytes operations
and two socket writes rather than an HTTP client library call. Small bodies (the common case) are read
whole and sent in one write with their head; large and chunked bodies are streamed with backpressure.

Failure policy: an upstream that cannot be reached or does not answer in time gets a 502/504 JSON
answer naming the variant, counted as an error of that variant. A pooled connection that the upstream
had already closed is retried once on a fresh connection, but only for an idempotent method, when
nothing of the response was received and the request body was not streamed (so it can be replayed
exactly). Under the same conditions a request the *canary* failed (refused, reset, 502/503) is retried
once on stable when `retry_on_stable` is on: the user gets stable's answer, the judge still counts the
canary's failure. A non-idempotent request (POST) is retried on stable only when no connection to the
canary could be made (it crashed, or is restarting): the canary never saw it, so it is sent once. Response deadlines are enforced by one watchdog task rather than a timer per request.

Latency is recorded when the response head is in (see measure.py); a streamed body is then governed by
`stream_idle_timeout` and its duration recorded apart. `Upgrade` requests (WebSocket) are routed like
any other, and after a 101 the connection becomes a byte tunnel (tunnel.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable

from canaria.gateway.channel import Channel
from canaria.gateway.conns import WAIT_BODY, ClientConnection, Connections, next_request_head
from canaria.gateway.exchange import (
    BUFFER_BODY_BYTES,
    IDEMPOTENT,
    ClientGone,
    Exchanger,
    UpstreamFailure,
)
from canaria.gateway.forwarding import TrustedProxies, request_bytes
from canaria.gateway.http import (
    BODY_CHUNKED,
    BODY_CLOSE,
    BODY_LENGTH,
    BODY_NONE,
    HttpError,
    RequestHead,
    ResponseHead,
    json_response,
    without_fields,
)
from canaria.gateway.measure import Meter
from canaria.gateway.pool import Pools, UpstreamConnection, UpstreamPool
from canaria.gateway.relay import IdleTimeout, SourceError, copy_chunked, copy_exact, copy_until_eof
from canaria.gateway.router import CANARY, STABLE, Router
from canaria.gateway.tunnel import TUNNEL_IDLE, tunnel

__all__ = ["LocalEndpoint", "Proxy"]

log = logging.getLogger("canaria.gateway")

LocalEndpoint = Callable[[], Awaitable[dict[str, object]]]

_VARIANT_LINE = {STABLE: b"X-Canaria-Variant: stable\r\n", CANARY: b"X-Canaria-Variant: canary\r\n"}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: Canary answers that mean "could not serve" rather than "served an error": retried on stable.
_RETRY_STATUS = frozenset({502, 503})


class Proxy:
    """Handles public-port connections for one Gateway."""

    def __init__(
        self,
        *,
        router: Router,
        pools: Pools,
        meter: Meter,
        connections: Connections,
        upstream_timeout: float,
        local_endpoints: dict[str, LocalEndpoint],
        stream_idle_timeout: float = 300.0,
        retry_on_stable: bool = True,
        trusted_proxies: TrustedProxies | None = None,
    ) -> None:
        self._router = router
        self._pools = pools
        self._meter = meter
        self._connections = connections
        self._timeout = upstream_timeout
        self._body_timeout = connections.limits.body_timeout
        self._stream_timeout = stream_idle_timeout
        self._retry_on_stable = retry_on_stable
        self._trusted = trusted_proxies or TrustedProxies()
        self._local = local_endpoints
        # the common start of the local paths: most requests are told apart by one startswith
        self._local_prefix = (  # character by character on purpose: a string prefix, not a path
            os.path.commonprefix(list(local_endpoints)).encode() if local_endpoints else b""  # noqa: RUF071
        )
        self._exchanger = Exchanger(upstream_timeout=upstream_timeout, body_timeout=self._body_timeout)
        self.watchdog = self._exchanger.watchdog

    async def handle_connection(self, reader: Channel, writer: Channel) -> None:
        conn = self._connections.open(writer)
        if conn is None:  # over a connection limit: already answered 503
            return
        client_ip = conn.ip.encode()
        trusted = self._trusted.trusts(conn.ip)
        limits = self._connections.limits
        try:
            while True:
                head = await next_request_head(reader, writer, conn, limits)
                if head is None:
                    break
                if not await self._handle(head, reader, writer, client_ip, trusted, conn):
                    break
        except (ConnectionError, OSError):
            pass  # the client went away while we were writing to it
        except Exception:
            log.exception("gateway: unexpected error on a client connection")
        finally:
            self._connections.close(conn)
            writer.close()

    async def _handle(
        self,
        head: RequestHead,
        reader: Channel,
        writer: Channel,
        client_ip: bytes,
        trusted: bool,
        conn: ClientConnection,
    ) -> bool:
        """Serve one request; True when the client connection stays open for the next one."""
        if head.method == b"GET" and self._local and head.target.startswith(self._local_prefix):
            endpoint = self._local.get(head.path)
            if endpoint is not None:
                return await self._answer_local(endpoint, head, writer, conn)

        route = self._router.route  # read once: a concurrent weight change cannot tear this request
        if self._router.choose(route, head):
            upstream, variant = route.canary, CANARY
        else:
            upstream, variant = route.stable, STABLE
        assert upstream is not None

        body = b""
        streamed = False
        upgrade = head.upgrade if head.body_kind == BODY_NONE else None
        if head.body_kind != BODY_NONE:
            if head.expect_continue and head.http11:
                writer.write(_CONTINUE)
            if head.body_kind == BODY_LENGTH and (head.content_length or 0) <= BUFFER_BODY_BYTES:
                conn.expect(WAIT_BODY, self._body_timeout)
                try:
                    body = await reader.readexactly(head.content_length or 0)
                except (asyncio.IncompleteReadError, OSError):
                    return False
                finally:
                    conn.done_waiting()
            else:
                streamed = True

        started = time.perf_counter()
        # a buffered body can be sent again; an idempotent request may be even if the canary saw it
        retry = self._retry_on_stable and variant == CANARY and not streamed
        idempotent = upgrade is None and head.method in IDEMPOTENT
        while True:
            request = request_bytes(
                head, upstream.host_header, upstream.base_path, client_ip, trusted=trusted, upgrade=upgrade
            )
            pool = self._pools.get(upstream)
            try:
                upstream_conn, response, small_body = await self._exchanger.exchange(
                    pool, request, body, streamed, head, reader, writer
                )
            except UpstreamFailure as failure:
                # refused/reset/closed, not a timeout; a POST only when the canary never received it
                if retry and failure.status in _RETRY_STATUS and (idempotent or not failure.sent):
                    self._meter.record(variant, failure.status, (time.perf_counter() - started) * 1000.0)
                    self._meter.record_retry(variant)
                    upstream, variant, retry = route.stable, STABLE, False
                    started = time.perf_counter()
                    continue
                return await self._answer_failure(failure, head, writer, variant, started, streamed, conn)
            except ClientGone:
                return False
            except HttpError as exc:  # the client's chunked body was malformed
                writer.write(json_response(exc.status, {"error": exc.message}, keep_alive=False))
                return False
            if retry and idempotent and response.status in _RETRY_STATUS and self._discard(response, small_body, head):
                pool.release(upstream_conn, reusable=response.reusable)
                self._meter.record(variant, response.status, (time.perf_counter() - started) * 1000.0)
                self._meter.record_retry(variant)
                upstream, variant, retry = route.stable, STABLE, False
                started = time.perf_counter()
                continue
            break
        if small_body is not None:  # the common case: head and body in one write, nothing to stream
            keep_alive = self._send_whole(head, response, small_body, upstream_conn, pool, writer, variant, started, conn)
            if writer.write_blocked_since:  # above the high-water mark: wait (the send timeout bounds it)
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    return False
            return keep_alive
        if response.status == 101:
            return await self._tunnel(response, upstream_conn, reader, writer, variant, started, upgrade)
        return await self._relay(head, response, upstream_conn, pool, writer, variant, started, conn)

    @staticmethod
    def _discard(response: ResponseHead, small_body: bytes | None, head: RequestHead) -> bool:
        """Whether a response can be dropped unseen (its body, if any, is already read)."""
        return small_body is not None or response.framing(head.method) == BODY_NONE

    async def _answer_failure(
        self,
        failure: UpstreamFailure,
        head: RequestHead,
        writer: Channel,
        variant: str,
        started: float,
        streamed: bool,
        conn: ClientConnection,
    ) -> bool:
        self._meter.record(variant, failure.status, (time.perf_counter() - started) * 1000.0)
        keep_alive = head.keep_alive and not streamed and not conn.draining
        payload = {"error": f"upstream {variant} {failure.reason}", "variant": variant}
        writer.write(
            json_response(
                failure.status, payload, keep_alive=keep_alive, extra_headers=_VARIANT_LINE[variant]
            )
        )
        await writer.drain()
        return keep_alive

    async def _tunnel(
        self,
        response: ResponseHead,
        upstream_conn: UpstreamConnection,
        reader: Channel,
        writer: Channel,
        variant: str,
        started: float,
        upgrade: bytes | None,
    ) -> bool:
        """Answer 101 and tunnel bytes both ways; the connection ends with the tunnel."""
        self._meter.record(variant, 101, (time.perf_counter() - started) * 1000.0)
        protocol = response.upgrade or upgrade or b""
        writer.write(
            b"".join(
                (
                    b"HTTP/1.1 101 Switching Protocols\r\n",
                    response.forward_block,
                    b"Connection: Upgrade\r\nUpgrade: ",
                    protocol,
                    b"\r\n",
                    _VARIANT_LINE[variant],
                    b"\r\n",
                )
            )
        )
        opened = time.perf_counter()
        try:
            ended = await tunnel(
                reader, writer, upstream_conn.reader, upstream_conn.writer, idle_timeout=self._stream_timeout
            )
        finally:
            upstream_conn.close()
        duration_ms = (time.perf_counter() - opened) * 1000.0
        self._meter.record_stream(variant, duration_ms, tunnel=True, idle_closed=ended == TUNNEL_IDLE)
        return False

    def _response_head(
        self, head: RequestHead, response: ResponseHead, variant: str, conn: ClientConnection
    ) -> tuple[tuple[bytes, ...], bool, int, bool]:
        """The pieces of the response head sent on, whether the connection stays open, the framing,
        and whether a chunked body must be de-chunked (for an HTTP/1.0 client)."""
        framing = response.framing(head.method)
        keep_alive = head.keep_alive and not conn.draining and framing != BODY_CLOSE
        dechunk = framing == BODY_CHUNKED and not head.http11
        fields = response.forward_block
        if dechunk:  # an HTTP/1.0 client cannot read chunked framing: send the data, then close
            keep_alive = False
            fields = without_fields(fields, lambda lname: lname == b"transfer-encoding")
        if keep_alive:
            connection = b"" if head.http11 else b"Connection: keep-alive\r\n"
        else:
            connection = b"Connection: close\r\n"
        out = (b"HTTP/1.1 ", response.reason_line, b"\r\n", fields, _VARIANT_LINE[variant], connection, b"\r\n")
        return out, keep_alive, framing, dechunk

    def _send_whole(
        self,
        head: RequestHead,
        response: ResponseHead,
        body: bytes,
        upstream_conn: UpstreamConnection,
        pool: UpstreamPool,
        writer: Channel,
        variant: str,
        started: float,
        conn: ClientConnection,
    ) -> bool:
        """Send a response whose body is already read, in one write; True when the connection stays open.
        No coroutine: this is what most requests do."""
        head_ms = (time.perf_counter() - started) * 1000.0
        out, keep_alive, framing, _ = self._response_head(head, response, variant, conn)
        writer.write(b"".join((*out, body)))
        pool.release(upstream_conn, reusable=framing != BODY_CLOSE and response.reusable)
        self._meter.record(variant, response.status, head_ms)
        return keep_alive

    async def _relay(
        self,
        head: RequestHead,
        response: ResponseHead,
        upstream_conn: UpstreamConnection,
        pool: UpstreamPool,
        writer: Channel,
        variant: str,
        started: float,
        conn: ClientConnection,
    ) -> bool:
        """Stream the response body on to the client; True when the client connection stays open."""
        head_ms = (time.perf_counter() - started) * 1000.0
        out, keep_alive, framing, dechunk = self._response_head(head, response, variant, conn)
        failed = False
        complete = False
        idle_closed = False
        try:
            writer.write(b"".join(out))
            upstream_reader = upstream_conn.reader
            idle = self._stream_timeout
            if framing == BODY_LENGTH:
                await copy_exact(upstream_reader, writer, response.content_length or 0, idle_timeout=idle)
            elif framing == BODY_CHUNKED:
                await copy_chunked(upstream_reader, writer, dechunk=dechunk, idle_timeout=idle)
            elif framing == BODY_CLOSE:
                await copy_until_eof(upstream_reader, writer, idle_timeout=idle)
            complete = True
            await writer.drain()
        except IdleTimeout:
            idle_closed = True  # a quiet stream ended by its own timeout is not the variant's error
            keep_alive = False
        except SourceError as exc:
            failed = True
            keep_alive = False
            log.warning("gateway: upstream %s broke off a response body: %s", variant, exc)
        except (ConnectionError, OSError):
            keep_alive = False  # the client went away; not an error of the variant
        finally:
            pool.release(upstream_conn, reusable=complete and framing != BODY_CLOSE and response.reusable)
            self._meter.record(variant, response.status, head_ms, failed=failed)
            if framing != BODY_NONE:
                duration_ms = (time.perf_counter() - started) * 1000.0 - head_ms
                self._meter.record_stream(variant, duration_ms, idle_closed=idle_closed)
        return keep_alive

    async def _answer_local(
        self, endpoint: LocalEndpoint, head: RequestHead, writer: Channel, conn: ClientConnection
    ) -> bool:
        keep_alive = head.keep_alive and not conn.draining
        try:
            payload = await endpoint()
            response = json_response(200, payload, keep_alive=keep_alive)
        except Exception as exc:  # a provider's bug must not take the proxy down
            log.exception("gateway: status provider failed")
            response = json_response(500, {"error": f"status provider failed: {exc}"}, keep_alive=keep_alive)
        writer.write(response)
        await writer.drain()
        return keep_alive
