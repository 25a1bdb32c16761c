"""Issue 10 finding 1: malformed requests are answered 400 and closed, and nothing reaches an upstream.

Each case is sent on a raw socket (clients that build requests themselves cannot send these bytes),
then the upstream's request counter shows whether anything was forwarded.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from .conftest import GatewayFactory
from .fakes import FakeUpstream, RawClient

#: The issue's reproduction: a bare LF ends the head for nginx/h11, so one request became two upstream.
SMUGGLE = (
    b"GET /a HTTP/1.1\r\nHost: a\r\nX-S: v\n\nGET /SMUGGLED HTTP/1.1\nHost: evil\nX-E: z\r\n\r\n"
)

MALFORMED = {
    "smuggle-bare-lf-in-value": SMUGGLE,
    "bare-lf-request-line": b"GET / HTTP/1.1\nHost: a\n\n",
    "bare-lf-request-line-crlf-end": b"GET / HTTP/1.1\nHost: a\r\n\r\n",
    "bare-lf-header-line": b"GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n",
    "bare-cr-in-value": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rX-B: c\r\n\r\n",
    "nul-in-value": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    "ctl-in-value": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n",
    "del-in-value": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n",
    "nul-in-target": b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n",
    "tab-in-target": b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
    "cr-in-target": b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
    "duplicate-host": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "cl-and-te": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te-not-chunked-last": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "te-in-http10": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "space-before-colon": b"GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n",
    "invalid-content-length": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
    "no-host": b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n",
    "content-length-list": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
    "content-length-twice": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "non-ascii-target": b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
}

BAD_CHUNKS = {
    "non-hex-size": b"zz\r\nabc\r\n0\r\n\r\n",
    "size-with-0x": b"0x3\r\nabc\r\n0\r\n\r\n",
    "bare-lf-after-size": b"3\nabc\r\n0\r\n\r\n",
    "lf-in-extension": b"3;a\nb\r\nabc\r\n0\r\n\r\n",
    "missing-crlf-after-data": b"3\r\nabcX\r\n0\r\n\r\n",
    "bare-lf-in-trailer": b"3\r\nabc\r\n0\r\nX-T: a\nX-U: b\r\n\r\n",
    "negative-size": b"-3\r\nabc\r\n0\r\n\r\n",
}


async def _send_raw(port: int, data: bytes, *, timeout: float = 3.0) -> bytes:
    """Send `data`, then read until the gateway closes the connection (fails if it never does)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout):
            return await reader.read(-1)
    finally:
        writer.close()


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_malformed_request_is_400_closed_and_never_forwarded(
    make_gateway: GatewayFactory, stable: FakeUpstream, canary: FakeUpstream, raw: bytes
) -> None:
    gateway = await make_gateway()
    answer = await _send_raw(gateway.public_port, raw)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert b"Connection: close" in answer
    assert len(re.findall(rb"HTTP/1\.1 \d{3} ", answer)) == 1  # one answer, then the connection was closed
    assert stable.requests == 0 and canary.requests == 0


@pytest.mark.parametrize("chunks", list(BAD_CHUNKS.values()), ids=list(BAD_CHUNKS))
async def test_invalid_chunked_body_is_400_and_closed(
    make_gateway: GatewayFactory, stable: FakeUpstream, chunks: bytes
) -> None:
    gateway = await make_gateway()
    head = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = await _send_raw(gateway.public_port, head + chunks)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert b"Connection: close" in answer
    assert stable.requests == 0  # the half-sent request is dropped with its upstream connection


async def test_smuggled_response_never_reaches_the_next_client(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    """The issue's scenario: after the attack, later clients on pooled upstream connections each get
    their own response."""
    gateway = await make_gateway()
    await _send_raw(gateway.public_port, SMUGGLE)
    for i in range(5):
        client = RawClient(gateway.public_port)
        status, _, body = await client.request("GET", f"/user-{i}")
        await client.close()
        assert status == 200
        assert f'"target": "/user-{i}"' in body.decode()
    assert stable.requests == 5


async def test_admin_port_is_as_strict(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    answer = await _send_raw(gateway.admin_port, b"GET /admin/health HTTP/1.1\r\nHost: a\nX: y\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    answer = await _send_raw(gateway.admin_port, b"GET /admin/health HTTP/1.1\nHost: a\n\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


#: Heads that never bring the CRLF CRLF (or LF CRLF) the reader waits for: answered at the header timeout.
UNTERMINATED = {
    "lf-only-fields": b"GET / HTTP/1.1\r\nHost: a\nX-A: b\n\n",
    "no-fields-http11": b"GET / HTTP/1.1\r\n\r\n",
    "partial-head": b"GET / HTTP/1.1\r\nHost: a\r\n",
}


@pytest.mark.parametrize("raw", list(UNTERMINATED.values()), ids=list(UNTERMINATED))
async def test_unterminated_head_gets_408_at_the_header_timeout(
    make_gateway: GatewayFactory, stable: FakeUpstream, raw: bytes
) -> None:
    gateway = await make_gateway(header_timeout=0.3)
    answer = await _send_raw(gateway.public_port, raw, timeout=2.0)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert stable.requests == 0
