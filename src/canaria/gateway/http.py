"""HTTP/1.1 message heads and body framing for the gateway's public and admin ports.

Hand-written rather than h11/httptools-per-request so that a proxied request costs a handful of bytes
operations: the proxy needs only the method, target, version, the framing headers and the hop-by-hop
set; every other header line is forwarded as the raw bytes it arrived as. Because lines are forwarded
raw, the parser must be at least as strict as any server behind it (RFC 9112/9110): a head with a CR,
LF or other control character anywhere but in a CRLF line end, obs-fold, whitespace before the colon,
two Host lines, Content-Length together with Transfer-Encoding, or conflicting Content-Length values is
rejected with 400 and never forwarded. tests/gateway/test_gateway_fuzz.py checks this differentially
against llhttp (Node's parser, through httptools): whatever llhttp rejects, this parser rejects too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = [
    "BODY_CHUNKED",
    "BODY_CLOSE",
    "BODY_LENGTH",
    "BODY_NONE",
    "MAX_HEAD_BYTES",
    "check_head_bytes",
    "HttpError",
    "RequestHead",
    "ResponseHead",
    "json_response",
    "parse_request_head",
    "parse_response_head",
    "without_fields",
]

#: Largest request or response head accepted (also the StreamReader limit, so a longer head is a 431).
MAX_HEAD_BYTES = 65536

BODY_NONE = 0
BODY_LENGTH = 1
BODY_CHUNKED = 2
BODY_CLOSE = 3  # response only: the body ends when the upstream closes the connection

_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"te", b"trailer", b"upgrade"})
_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = b"0123456789"
#: Bytes a head may contain besides its CRLF line ends: SP, HTAB, VCHAR, obs-text.
_HEAD_BYTES = bytes([9, *range(32, 127), *range(128, 256)])
#: Bytes a request target may contain (RFC 3986: visible ASCII; anything else must be percent-encoded).
_TARGET_BYTES = bytes(range(33, 127))

_REASONS = {
    200: "OK",
    101: "Switching Protocols",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    422: "Unprocessable Content",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


class HttpError(Exception):
    """A malformed message; `status` is what the gateway answers the client with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _is_token(value: bytes) -> bool:
    return bool(value) and not value.strip(_TOKEN_CHARS)


def check_head_bytes(data: bytes) -> None:
    """Reject control characters and any CR or LF that is not part of a CRLF pair.

    Two C-speed passes over the whole head instead of a per-line check: with the CRLF pairs removed, no
    CR, LF or other control character may be left. This is what stops the smuggling the issue found
    (a bare LF that a server behind the gateway reads as a line end)."""
    if data.replace(b"\r\n", b"").translate(None, _HEAD_BYTES):
        raise HttpError(400, "bare CR or LF, or a control character, in the message head")


def _content_length(value: bytes, current: int | None) -> int:
    """One Content-Length: digits only. A list ("5, 5") or a second Content-Length line is refused even when
    the values agree (RFC 9110 8.6 lets a recipient refuse it; llhttp does, and so may a server behind us)."""
    if current is not None:
        raise HttpError(400, "more than one Content-Length")
    text = value.strip(b" \t")
    if not text.isdigit() or len(text) > 18:
        raise HttpError(400, "invalid Content-Length")
    return int(text)


_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b""})
#: Fields the gateway reads or drops (besides any "proxy-*"); every other line is forwarded unread.
_RESPONSE_SPECIAL = _HOP_BY_HOP | {b"content-length", b"transfer-encoding"}
_REQUEST_SPECIAL = _RESPONSE_SPECIAL | {
    b"host",
    b"expect",
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
}
# The proxy writes its own Host and X-Forwarded-For, so the client's lines are not forwarded.
_REQUEST_DROP = _HOP_BY_HOP | {b"host", b"x-forwarded-for"}
_PREFIXES = (b"proxy-", b"x-forwarded-")


class _Head:
    """Fields shared by request and response heads.

    `block` is the raw field lines (each ending in CRLF); `forward_block` is the same bytes with the
    hop-by-hop lines cut out — the very same object when there is nothing to cut, which is the
    common case. Only the fields the gateway acts on are looked at while parsing (one C-level
    regex pass finds them); `headers` splits every line only when someone asks (routing by a header
    or cookie, the admin API's token).
    """

    __slots__ = (
        "_headers",
        "block",
        "body_kind",
        "connection_close",
        "connection_keep_alive",
        "connection_upgrade",
        "content_length",
        "forward_block",
    )

    _headers: list[tuple[bytes, bytes]] | None
    block: bytes
    forward_block: bytes
    content_length: int | None
    body_kind: int
    connection_close: bool
    connection_keep_alive: bool
    connection_upgrade: bool

    def _parse_fields(
        self, block: bytes, special: frozenset[bytes], drop: frozenset[bytes]
    ) -> tuple[bytes | None, list[tuple[bytes, bytes]]]:
        """Check the field lines and read the framing ones; returns the Transfer-Encoding value (if
        any) and the other special fields found, as (lower-case name, raw value), in order.

        This loop runs for every header of every request and response, hence its plainness: the block
        is lower-cased and split once (C calls), then each line costs one partition, one token check and
        one set look-up; the original-case lines are split only when a value is kept or a line is cut."""
        self.block = block
        self._headers = None
        content_length: int | None = None
        transfer_encoding: bytes | None = None
        connection_tokens: set[bytes] | None = None
        found: list[tuple[bytes, bytes]] = []
        lower = block.lower()
        low_lines = lower.split(b"\r\n")
        prefixed = b"proxy-" in lower or b"x-forwarded-" in lower  # rare: only then are names checked for them
        lines: list[bytes] | None = None  # the lines as received, split only when needed
        cut: list[int] | None = None
        for index in range(len(low_lines) - 1):  # the last item is what follows the final CRLF: b""
            lname, sep, lvalue = low_lines[index].partition(b":")
            if not sep or not lname or lname.strip(_TOKEN_CHARS):
                raise HttpError(400, "malformed header line")
            if lname not in special:
                if not prefixed or not lname.startswith(_PREFIXES):
                    continue
                if lname[:1] == b"x":  # X-Forwarded-Host/-Proto/...: kept, but the claim is noted
                    if lines is None:
                        lines = block.split(b"\r\n")
                    found.append((lname, lines[index].partition(b":")[2]))
                    continue
            elif lname == b"content-length":
                content_length = _content_length(lvalue, content_length)
                continue
            elif lname == b"transfer-encoding":
                lvalue = lvalue.strip(b" \t")
                transfer_encoding = lvalue if transfer_encoding is None else transfer_encoding + b"," + lvalue
                continue
            elif lname == b"connection":
                if connection_tokens is None:
                    connection_tokens = set()
                if b"," in lvalue:
                    connection_tokens.update([t.strip(b" \t") for t in lvalue.split(b",")])
                else:
                    connection_tokens.add(lvalue.strip(b" \t"))
            else:
                if lines is None:
                    lines = block.split(b"\r\n")
                found.append((lname, lines[index].partition(b":")[2]))
                if lname not in drop:
                    continue
            if cut is None:
                cut = []
            cut.append(index)
        self.content_length = content_length
        forward = block
        if cut is not None:
            if lines is None:
                lines = block.split(b"\r\n")
            for index in cut:
                lines[index] = b""
            kept = [line for line in lines if line]
            forward = b"\r\n".join(kept) + b"\r\n" if kept else b""
        if connection_tokens is None:
            self.connection_close = self.connection_keep_alive = self.connection_upgrade = False
        else:
            self.connection_close = b"close" in connection_tokens
            self.connection_keep_alive = b"keep-alive" in connection_tokens
            self.connection_upgrade = b"upgrade" in connection_tokens
            named = connection_tokens - _PLAIN_CONNECTION - {b"upgrade"}
            if named:  # headers listed in Connection are hop-by-hop too
                forward = without_fields(forward, lambda lname: lname in named)
        self.forward_block = forward
        return transfer_encoding, found

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """Every field as (lower-case name, raw value), in order."""
        headers = self._headers
        if headers is None:
            headers = []
            for line in self.block.split(b"\r\n")[:-1]:
                name, _, value = line.partition(b":")
                headers.append((name.lower(), value))
            self._headers = headers
        return headers

    @property
    def forward(self) -> list[bytes]:
        """The forwarded field lines, without their CRLF."""
        return self.forward_block.split(b"\r\n")[:-1]

    def get(self, lname: bytes) -> bytes | None:
        """First value of a header by its lower-case name."""
        for name, value in self.headers:
            if name == lname:
                return value.strip(b" \t")
        return None

    def get_all(self, lname: bytes) -> list[bytes]:
        return [value.strip(b" \t") for name, value in self.headers if name == lname]


def without_fields(block: bytes, cut: Callable[[bytes], bool]) -> bytes:
    """`block` without the lines whose lower-case name `cut` selects (a rare, slower path)."""
    lines = block.split(b"\r\n")[:-1]
    kept = [line for line in lines if not cut(line.partition(b":")[0].lower())]
    return b"".join(line + b"\r\n" for line in kept)


def _framing(transfer_encoding: bytes | None, content_length: int | None, *, request: bool = False) -> int:
    if transfer_encoding is not None:
        if content_length is not None:
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        codings = [c.strip(b" \t").lower() for c in transfer_encoding.split(b",")]
        if codings[-1] != b"chunked":
            # RFC 9112 6.3: a request whose last coding is not chunked has no reliable length
            raise HttpError(400 if request else 501, "Transfer-Encoding must end with chunked")
        if codings.count(b"chunked") > 1:
            raise HttpError(400, "chunked applied more than once")
        return BODY_CHUNKED
    return BODY_LENGTH if content_length else BODY_NONE


class RequestHead(_Head):
    """A parsed request head. `forward_block` holds the raw end-to-end header lines."""

    __slots__ = ("claims", "expect_continue", "host", "http11", "keep_alive", "method", "target", "upgrade")

    method: bytes
    target: bytes
    http11: bool
    keep_alive: bool
    expect_continue: bool
    host: bytes | None
    upgrade: bytes | None  # the Upgrade value when the client asked to switch protocols
    #: X-Forwarded-* and Forwarded fields as (lower-case name, raw value); forwarding.py decides
    claims: list[tuple[bytes, bytes]]

    @property
    def path(self) -> str:
        return self.target.partition(b"?")[0].decode("latin-1")


#: Field blocks seen recently, and what they say. Parsing is a pure function of the bytes, and a
#: keep-alive client repeats its headers (an API client, a health check, a browser between cookie
#: changes), as an upstream repeats its response heads within the second of their Date: a repeated
#: block costs a dict look-up instead of the per-line work. Bounded: small blocks only, cleared when full.
_MEMO_BLOCK_BYTES = 4096
_MEMO_ENTRIES = 1024
_REQUEST_FIELDS: dict[bytes, tuple[Any, ...]] = {}  # key: "HTTP/1.x" CRLF, the field block, CRLF
_RESPONSE_FIELDS: dict[bytes, tuple[Any, ...]] = {}


def _remember(memo: dict[bytes, tuple[Any, ...]], key: bytes, fields: tuple[Any, ...]) -> None:
    if len(key) <= _MEMO_BLOCK_BYTES:
        if len(memo) >= _MEMO_ENTRIES:
            memo.clear()
        memo[key] = fields


def parse_request_head(data: bytes) -> RequestHead:
    """Parse a request head (ending in CRLF CRLF, leading empty lines already removed)."""
    line_end = data.find(b"\r\n")
    if line_end > 9 and data[line_end - 9] == 32:
        # The version, the field block and the end of a head that parsed before: only the method and
        # the target are left to check, and they are checked exactly as below (a failure takes the
        # long way, which names the error).
        fields = _REQUEST_FIELDS.get(data[line_end - 8 :])
        if fields is not None:
            method, sep, target = data[: line_end - 9].partition(b" ")
            if (
                sep
                and method
                and not method.strip(_TOKEN_CHARS)
                and target
                and (target[0] == 47 or target == b"*")
                and not target.translate(None, _TARGET_BYTES)
            ):
                head = RequestHead()
                head.method = method
                head.target = target
                head._headers = None
                (
                    head.http11,
                    head.block,
                    head.forward_block,
                    head.content_length,
                    head.body_kind,
                    head.connection_close,
                    head.connection_keep_alive,
                    head.connection_upgrade,
                    head.keep_alive,
                    head.expect_continue,
                    head.host,
                    head.upgrade,
                    head.claims,
                ) = fields
                return head
    check_head_bytes(data)
    if not data.endswith(b"\r\n\r\n"):
        raise HttpError(400, "request head does not end in CRLF CRLF")
    parts = data[:line_end].split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version == b"HTTP/1.1":
        http11 = True
    elif version == b"HTTP/1.0":
        http11 = False
    elif version.startswith(b"HTTP/"):
        raise HttpError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
    else:
        raise HttpError(400, "malformed request line")
    if not _is_token(method) or not target:
        raise HttpError(400, "malformed request line")
    if target[0] != 47 and target != b"*":  # origin-form "/..." only; no proxy (absolute) form
        raise HttpError(400, "request target must start with /")
    if target.translate(None, _TARGET_BYTES):
        raise HttpError(400, "whitespace, control or non-ASCII character in the request target")
    head = RequestHead()
    head.method = method
    head.target = target
    head.http11 = http11
    _parse_request_fields(head, data[line_end + 2 : -2], http11)
    _remember(
        _REQUEST_FIELDS,
        data[line_end - 8 :],
        (
            head.http11,
            head.block,
            head.forward_block,
            head.content_length,
            head.body_kind,
            head.connection_close,
            head.connection_keep_alive,
            head.connection_upgrade,
            head.keep_alive,
            head.expect_continue,
            head.host,
            head.upgrade,
            head.claims,
        ),
    )
    return head


def _parse_request_fields(head: RequestHead, block: bytes, http11: bool) -> None:
    transfer_encoding, found = head._parse_fields(block, _REQUEST_SPECIAL, _REQUEST_DROP)
    if transfer_encoding is not None and not http11:
        raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
    head.body_kind = _framing(transfer_encoding, head.content_length, request=True)
    head.keep_alive = (not head.connection_close) if http11 else head.connection_keep_alive
    host = expect = upgrade = None
    claims = []
    for lname, value in found:
        if lname == b"host":
            if host is not None:
                raise HttpError(400, "more than one Host header")
            host = value.strip(b" \t")
        elif lname == b"expect":
            if expect is None:
                expect = value.strip(b" \t")
        elif lname == b"upgrade":
            if upgrade is None:
                upgrade = value.strip(b" \t")
        elif lname[:12] == b"x-forwarded-" or lname == b"forwarded":
            claims.append((lname, value))
    head.claims = claims
    head.expect_continue = expect is not None and expect.lower() == b"100-continue"
    if head.expect_continue:
        head.forward_block = without_fields(head.forward_block, lambda lname: lname == b"expect")
    head.host = host
    if http11 and host is None:
        raise HttpError(400, "HTTP/1.1 request without Host")
    head.upgrade = upgrade if upgrade and head.connection_upgrade and http11 else None


class ResponseHead(_Head):
    """A parsed upstream response head."""

    __slots__ = ("http11", "reason_line", "status", "upgrade")

    status: int
    reason_line: bytes  # "200 OK", reused as is in the status line sent on
    http11: bool
    upgrade: bytes | None  # a 101's Upgrade value

    def framing(self, method: bytes) -> int:
        if method == b"HEAD" or self.status < 200 or self.status in (204, 304):
            return BODY_NONE
        if self.body_kind == BODY_NONE:  # neither Content-Length nor chunked
            return BODY_CLOSE
        return self.body_kind

    @property
    def reusable(self) -> bool:
        """Whether the upstream connection may carry another request after this response."""
        if self.http11:
            return not self.connection_close
        return self.connection_keep_alive


def parse_response_head(data: bytes) -> ResponseHead:
    line_end = data.find(b"\r\n")
    block = data[line_end + 2 : -2]
    fields = _RESPONSE_FIELDS.get(block) if line_end >= 0 and data.endswith(b"\r\n\r\n") else None
    try:
        check_head_bytes(data if fields is None else data[:line_end])
    except HttpError as exc:
        raise HttpError(502, f"invalid response head from upstream: {exc.message}") from None
    version, _, rest = data[:line_end].partition(b" ")
    if version == b"HTTP/1.1":
        http11 = True
    elif version == b"HTTP/1.0":
        http11 = False
    else:
        raise HttpError(502, "invalid status line from upstream")
    code = rest[:3]
    if len(code) != 3 or code.strip(_DIGITS) or not 100 <= int(code) <= 599:
        raise HttpError(502, "invalid status code from upstream")
    head = ResponseHead()
    head.status = int(code)
    head.reason_line = rest
    head.http11 = http11
    if fields is not None:
        head._headers = None
        (
            head.block,
            head.forward_block,
            head.content_length,
            head.body_kind,
            head.connection_close,
            head.connection_keep_alive,
            head.connection_upgrade,
            head.upgrade,
        ) = fields
        return head
    try:
        transfer_encoding, found = head._parse_fields(block, _RESPONSE_SPECIAL, _HOP_BY_HOP)
        head.body_kind = _framing(transfer_encoding, head.content_length)
    except HttpError as exc:
        raise HttpError(502, f"invalid response head from upstream: {exc.message}") from None
    head.upgrade = None
    for lname, value in found:
        if lname == b"upgrade":
            head.upgrade = value.strip(b" \t")
            break
    if head.content_length == 0:
        head.body_kind = BODY_LENGTH
    _remember(
        _RESPONSE_FIELDS,
        block,
        (
            head.block,
            head.forward_block,
            head.content_length,
            head.body_kind,
            head.connection_close,
            head.connection_keep_alive,
            head.connection_upgrade,
            head.upgrade,
        ),
    )
    return head


def json_response(
    status: int,
    payload: Any,
    *,
    keep_alive: bool = True,
    extra_headers: bytes = b"",
    content_type: bytes = b"application/json",
) -> bytes:
    """A complete response with a JSON (or pre-encoded bytes) body."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    reason = _REASONS.get(status, "Unknown")
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: %s\r\nCache-Control: no-store\r\n"
        % (status, reason.encode(), content_type, len(body), connection)
        + extra_headers
        + b"\r\n"
        + body
    )
