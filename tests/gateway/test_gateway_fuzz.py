"""Fuzzing the request-head parser, and a differential check against llhttp (Node's parser, via httptools).

The gateway forwards header lines as the raw bytes it received, so it must never accept a head that a
strict parser reads differently. Properties, over generated heads built from hostile pieces (bare CR/LF,
NUL and other controls, obs-fold, odd whitespace, duplicate framing headers) and over random mutations
of valid heads:
  * the parser only ever returns a head or raises HttpError (no other exception, no crash);
  * whatever it accepts, llhttp accepts too, with the same method, target and header fields;
  * the head bytes it accepts carry no CR, LF or NUL except as CRLF line ends (nothing to smuggle).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from canaria.gateway.http import HttpError, RequestHead, parse_request_head

httptools = pytest.importorskip("httptools", reason="httptools (llhttp) is in the test extra")

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_EOL = st.sampled_from([b"\r\n"] * 8 + [b"\n", b"\r", b"\r\r\n", b"\n\r"])
_NASTY = st.sampled_from([b"\x00", b"\r", b"\n", b"\t", b" ", b"\x01", b"\x7f", b"\x80", b"\xff", b":", b",", b";"])
_TEXT = st.binary(min_size=0, max_size=12).map(lambda b: bytes(c % 128 for c in b))
_PIECE = st.one_of(_TEXT, _NASTY, st.sampled_from([b"a", b"1", b"/x", b"chunked", b"close", b"upgrade"]))
_VALUE = st.lists(_PIECE, max_size=4).map(b"".join)
_NAME = st.one_of(
    st.sampled_from(
        [b"Host", b"host", b"Content-Length", b"Transfer-Encoding", b"Connection", b"Upgrade", b"X-A", b"Expect",
         b"Cookie", b" Host", b"Host ", b"X A", b"", b"X\x00"]
    ),
    st.from_regex(rb"\A[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}\Z"),
)
_FIELD = st.tuples(_NAME, st.sampled_from([b":", b": ", b":\t", b" :", b""]), _VALUE, _EOL).map(b"".join)
_METHOD = st.sampled_from([b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"G ET", b"get", b"", b"GET\x00"])
_TARGET = st.one_of(
    st.sampled_from([b"/", b"/a?b=c", b"*", b"http://x/", b"/a b", b"/\x00", b"/\t", b"/%0d%0a", b"/\xc3\xa9"]),
    st.lists(_PIECE, max_size=3).map(lambda p: b"/" + b"".join(p)),
)
_VERSION = st.sampled_from([b"HTTP/1.1"] * 4 + [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 ", b"http/1.1", b"HTTP/1"])


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    line = draw(_METHOD) + draw(st.sampled_from([b" ", b"  ", b"\t"])) + draw(_TARGET) + b" " + draw(_VERSION)
    fields = draw(st.lists(_FIELD, max_size=6))
    if draw(st.booleans()):
        fields.insert(draw(st.integers(0, len(fields))), b"Host: shop\r\n")
    return line + draw(_EOL) + b"".join(fields) + b"\r\n"


_VALID = b"POST /cart?id=7 HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\nCookie: a=1\r\nX-Trace: abc\r\n\r\n"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(_VALID)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 5))  # keep the final CRLF CRLF, the reader's delimiter
        kind = draw(st.sampled_from(["insert", "replace", "delete"]))
        byte = draw(st.one_of(_NASTY, st.binary(min_size=1, max_size=1)))
        if kind == "insert":
            data[at:at] = byte
        elif kind == "replace":
            data[at : at + 1] = byte
        else:
            del data[at]
    return bytes(data)


_LLHTTP_METHODS = frozenset(
    b"DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH UNLOCK BIND "
    b"REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE PATCH PURGE "
    b"MKCALENDAR LINK UNLINK SOURCE QUERY".split()
)


class _Llhttp:
    """Collects what llhttp parsed from one head."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value.strip(b" \t")))

    def on_headers_complete(self) -> None:
        self.complete = True


def _llhttp(data: bytes) -> tuple[_Llhttp, Any] | None:
    """llhttp's reading of `data`, or None when it rejects it."""
    sink = _Llhttp()
    parser = httptools.HttpRequestParser(sink)
    try:
        parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        pass  # an Upgrade request: the head itself was valid
    except httptools.HttpParserError:
        return None
    return (sink, parser) if sink.complete else None


def _ours(data: bytes) -> RequestHead | None:
    try:
        return parse_request_head(data)
    except HttpError as exc:
        assert 400 <= exc.status < 600
        return None


def _check(data: bytes) -> None:
    head = _ours(data)
    if head is None:
        return
    # nothing to smuggle: CR and LF only as line ends, no NUL
    assert data.count(b"\r") == data.count(b"\n") == data.count(b"\r\n") and b"\x00" not in data
    # llhttp knows a fixed list of methods; RFC 9110 allows extension methods, which the gateway passes on
    # (no framing depends on the method name), so llhttp reads those heads with the method swapped.
    if head.method not in _LLHTTP_METHODS:
        data = b"GET" + data[len(head.method) :]
    theirs = _llhttp(data)
    assert theirs is not None, f"accepted a head llhttp rejects: {data!r}"
    sink, parser = theirs
    assert parser.get_method() == (head.method if head.method in _LLHTTP_METHODS else b"GET")
    assert sink.url == head.target
    assert [(n, v.strip(b" \t")) for n, v in head.headers] == sink.headers


@_SETTINGS
@given(heads())
@example(b"GET /a HTTP/1.1\r\nHost: a\r\nX-S: v\n\nGET /SMUGGLED HTTP/1.1\nHost: evil\nX-E: z\r\n\r\n")
@example(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n")
def test_generated_heads_never_crash_and_agree_with_llhttp(data: bytes) -> None:
    _check(data)


@_SETTINGS
@given(mutated())
def test_mutated_heads_never_crash_and_agree_with_llhttp(data: bytes) -> None:
    _check(data)


def test_the_differential_check_can_fail() -> None:
    """llhttp accepts the valid head, and reads a bare-LF head differently from the raw bytes."""
    assert _llhttp(_VALID) is not None and _ours(_VALID) is not None
    assert _ours(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n") is None


_CHUNK_LINE = st.one_of(
    st.integers(0, 40).map(lambda n: b"%x" % n),
    st.sampled_from([b"0x3", b"-1", b" 3", b"3 ", b"g", b"", b"3;ext=1", b"3;a\nb", b"3;\x00", b"ffffffffffffffffff"]),
)
_CHUNK = st.tuples(_CHUNK_LINE, _EOL, st.binary(max_size=40), _EOL).map(b"".join)
_TRAILER = st.lists(st.tuples(_NAME, st.just(b": "), _VALUE, _EOL).map(b"".join), max_size=2).map(b"".join)


@st.composite
def chunked_bodies(draw: st.DrawFn) -> bytes:
    return b"".join(draw(st.lists(_CHUNK, max_size=4))) + b"0" + draw(_EOL) + draw(_TRAILER) + b"\r\n"


class _Body(_Llhttp):
    def __init__(self) -> None:
        super().__init__()
        self.body = b""
        self.done = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


def _llhttp_body(chunked: bytes) -> bytes | None:
    sink = _Body()
    try:
        httptools.HttpRequestParser(sink).feed_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    except httptools.HttpParserError:
        return None
    return sink.body if sink.done else None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunked_bodies())
def test_chunked_relay_forwards_only_what_llhttp_reads_the_same_way(data: bytes) -> None:
    import asyncio

    from canaria.gateway.relay import SourceError, copy_chunked

    class Sink:
        def __init__(self) -> None:
            self.data = b""

        def write(self, chunk: bytes) -> None:
            self.data += chunk

        async def drain(self) -> None:
            return None

    async def relay() -> bytes | None:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        sink = Sink()
        try:
            await copy_chunked(reader, sink)  # type: ignore[arg-type]
        except SourceError:
            return None
        return sink.data

    forwarded = asyncio.run(relay())
    if forwarded is None:
        return
    assert forwarded == data[: len(forwarded)]  # relayed verbatim, up to the end of the body
    assert _llhttp_body(forwarded) is not None, f"relayed a chunked body llhttp rejects: {forwarded!r}"
