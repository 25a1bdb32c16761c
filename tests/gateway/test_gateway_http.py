"""The message-head parser and the chunked relay, on bytes (no sockets)."""

from __future__ import annotations

import asyncio

import pytest

from canaria.gateway.http import (
    BODY_CHUNKED,
    BODY_CLOSE,
    BODY_LENGTH,
    BODY_NONE,
    HttpError,
    parse_request_head,
    parse_response_head,
)
from canaria.gateway.relay import SourceError, copy_chunked


class _Sink:
    """Collects what a relay writes (the StreamWriter surface the relays use)."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_request_head_fields_and_forwarded_lines() -> None:
    head = parse_request_head(
        b"POST /a?b=1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\n"
        b"X-Hop: 1\r\nProxy-Connection: x\r\nX-Forwarded-For: 10.0.0.1\r\nCookie: a=1\r\n\r\n"
    )
    assert (head.method, head.target, head.path, head.http11) == (b"POST", b"/a?b=1", "/a", True)
    assert head.content_length == 5 and head.body_kind == BODY_LENGTH and head.keep_alive
    assert head.forward == [b"Content-Length: 5", b"Cookie: a=1"]  # host and XFF are rewritten
    assert head.get(b"x-forwarded-for") == b"10.0.0.1" and head.host == b"shop"


def test_http10_keep_alive_only_when_asked() -> None:
    assert not parse_request_head(b"GET / HTTP/1.0\r\n\r\n").keep_alive
    assert parse_request_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive
    assert not parse_request_head(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
        (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ],
)
def test_ambiguous_requests_are_refused(raw: bytes, status: int) -> None:
    with pytest.raises(HttpError) as caught:
        parse_request_head(raw)
    assert caught.value.status == status


def test_response_framing() -> None:
    ok = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nKeep-Alive: timeout=5\r\n\r\n")
    assert ok.framing(b"GET") == BODY_LENGTH and ok.framing(b"HEAD") == BODY_NONE and ok.reusable
    assert ok.forward == [b"Content-Length: 3"]
    chunked = parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert chunked.framing(b"GET") == BODY_CHUNKED
    close = parse_response_head(b"HTTP/1.0 200 OK\r\n\r\n")
    assert close.framing(b"GET") == BODY_CLOSE and not close.reusable
    assert (
        parse_response_head(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").framing(b"GET")
        == BODY_NONE
    )
    with pytest.raises(HttpError) as caught:
        parse_response_head(b"HTTP/1.1 2x0 OK\r\n\r\n")
    assert caught.value.status == 502


CHUNKED = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: abc\r\n\r\n"


async def test_chunked_relay_is_verbatim_including_extensions_and_trailers() -> None:
    sink = _Sink()
    reader = _reader(CHUNKED + b"NEXT")
    await copy_chunked(reader, sink)  # type: ignore[arg-type]
    assert sink.data == CHUNKED
    assert await reader.read() == b"NEXT"  # stops exactly at the end of the body


async def test_chunked_relay_can_dechunk() -> None:
    sink = _Sink()
    await copy_chunked(_reader(CHUNKED), sink, dechunk=True)  # type: ignore[arg-type]
    assert sink.data == b"Wikipedia"


@pytest.mark.parametrize(
    "bad", [b"zz\r\nab\r\n0\r\n\r\n", b"+2\r\nab\r\n0\r\n\r\n", b"2\r\nabXX0\r\n\r\n", b"5\r\nab"]
)
async def test_broken_chunked_bodies_raise_source_error(bad: bytes) -> None:
    with pytest.raises(SourceError):
        await copy_chunked(_reader(bad), _Sink())  # type: ignore[arg-type]


def test_hop_by_hop_fields_are_cut_whatever_their_case_and_nothing_else() -> None:
    head = parse_request_head(
        b"GET / HTTP/1.1\r\nHOST: x\r\nconnection: X-A, x-b\r\nX-a: 1\r\nX-Keep: 1\r\nX-B: 2\r\n"
        b"PROXY-Authorization: z\r\nTE: trailers\r\nDate: today\r\nX-Upgrade-Note: kept\r\nEmpty:\r\n\r\n"
    )
    assert head.forward == [b"X-Keep: 1", b"Date: today", b"X-Upgrade-Note: kept", b"Empty:"]
    assert head.get(b"empty") == b"" and head.get(b"x-a") == b"1" and head.get(b"missing") is None
    assert head.host == b"x"


def test_repeated_fields_are_all_seen() -> None:
    head = parse_request_head(
        b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\ncookie: b=2\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n\r\n"
    )
    assert head.get_all(b"cookie") == [b"a=1", b"b=2"]
    assert head.get_all(b"x-forwarded-for") == [b"1.1.1.1, 2.2.2.2"]
    assert head.get_all(b"nothing") == []


def test_a_remembered_field_block_gives_the_same_head_and_never_vouches_for_the_start_line() -> None:
    """Heads are memoised by their field block: a repeat must parse exactly like the first time, and the
    request or status line in front of a known block is still checked in full."""
    fields = b"Host: shop\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Forwarded-Host: a\r\nCookie: c=1\r\n\r\n"
    first = parse_request_head(b"GET /a HTTP/1.1\r\n" + fields)
    again = parse_request_head(b"POST /b?x=1 HTTP/1.1\r\n" + fields)
    for slot in ("forward_block", "host", "keep_alive", "body_kind", "content_length", "upgrade", "claims"):
        assert getattr(first, slot) == getattr(again, slot), slot
    assert (again.method, again.target, again.forward) == (b"POST", b"/b?x=1", [b"X-Forwarded-Host: a", b"Cookie: c=1"])
    assert again.get(b"cookie") == b"c=1" and again.headers == first.headers
    http10 = parse_request_head(b"GET / HTTP/1.0\r\n" + fields)  # the same block says another thing in 1.0
    assert http10.keep_alive and not http10.http11
    for bad in (b"GET /a\x00 HTTP/1.1\r\n", b"GET /a\nX: y HTTP/1.1\r\n", b"GET  /a HTTP/1.1\r\n", b"GET /a HTTP/2.0\r\n"):
        with pytest.raises(HttpError):
            parse_request_head(bad + fields)
    with pytest.raises(HttpError):  # the known block, but the head does not end in CRLF CRLF
        parse_request_head(b"GET /a HTTP/1.1\r\n" + fields[:-2] + b"\n\n")

    response = b"Content-Length: 3\r\nConnection: close\r\n\r\n"
    ok = parse_response_head(b"HTTP/1.1 200 OK\r\n" + response)
    repeat = parse_response_head(b"HTTP/1.1 404 Not Found\r\n" + response)
    assert (repeat.status, repeat.reason_line, repeat.forward, repeat.reusable) == (404, b"404 Not Found", ok.forward, False)
    for bad_line in (b"HTTP/1.1 2x0 OK\r\n", b"HTTP/1.1 200 O\rK\r\n", b"HTTP/3 200 OK\r\n"):
        with pytest.raises(HttpError) as caught:
            parse_response_head(bad_line + response)
        assert caught.value.status == 502
