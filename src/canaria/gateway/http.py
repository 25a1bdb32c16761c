"""HTTP/1.1 message heads and body framing for the gateway's public and admin ports.

Hand-written rather than h11/httptools-per-request so that a proxied request costs a handful of bytes
operations: the proxy needs only the method, target, version, the framing headers and the hop-by-hop
set; every other header line is forwarded as the raw bytes it arrived as. Because lines are forwarded
raw, the parser must be at least as strict as any server behind it (RFC 9112/9110): a head with a CR,
LF or other control character anywhere but in a CRLF line end, obs-fold, whitespace before the colon,
two Host lines, Content-Length together with Transfer-Encoding, or conflicting Content-Length values is
rejected with 400 and never forwarded. tests/gateway/test_gateway_fuzz.py checks this differentially
against llhttp (Node's parser, through httptools): whatever llhttp rejects, this parser rejects too.

The field lines are handled in fields.py and the byte-level rules live in wire.py (re-exported here).
A head whose field block was parsed before is not parsed again (see the memo below): on a proxy most
heads repeat, and parsing was the largest part of the gateway's CPU per request.
"""

from __future__ import annotations

import operator
from typing import Any

from canaria.gateway.fields import (
    REQUEST_DROP,
    REQUEST_SPECIAL,
    RESPONSE_SPECIAL,
    HeadFields,
    framing_of,
    without_fields,
)
from canaria.gateway.wire import (
    BODY_CHUNKED,
    BODY_CLOSE,
    BODY_LENGTH,
    BODY_NONE,
    MAX_HEAD_BYTES,
    HttpError,
    check_head_bytes,
    json_response,
)
from canaria.gateway.wire import DIGITS as _DIGITS
from canaria.gateway.wire import HOP_BY_HOP as _HOP_BY_HOP
from canaria.gateway.wire import TARGET_BYTES as _TARGET_BYTES
from canaria.gateway.wire import TOKEN_CHARS as _TOKEN_CHARS
from canaria.gateway.wire import is_token as _is_token

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

class RequestHead(HeadFields):
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
# What a memo entry holds: every attribute parsing the version and the field block sets (the method and the
# target are checked and set per request).
_REQUEST_SLOTS = ("http11", "block", "forward_block", "content_length", "body_kind", "connection_close",
                  "connection_keep_alive", "connection_upgrade", "keep_alive", "expect_continue", "host", "upgrade",
                  "claims")
_RESPONSE_SLOTS = ("block", "forward_block", "content_length", "body_kind", "connection_close",
                   "connection_keep_alive", "connection_upgrade", "upgrade")
_pack_request = operator.attrgetter(*_REQUEST_SLOTS)
_pack_response = operator.attrgetter(*_RESPONSE_SLOTS)


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
                for name, value in zip(_REQUEST_SLOTS, fields):
                    setattr(head, name, value)
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
        _pack_request(head),
    )
    return head


def _parse_request_fields(head: RequestHead, block: bytes, http11: bool) -> None:
    transfer_encoding, found = head._parse_fields(block, REQUEST_SPECIAL, REQUEST_DROP)
    if transfer_encoding is not None and not http11:
        raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
    head.body_kind = framing_of(transfer_encoding, head.content_length, request=True)
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


class ResponseHead(HeadFields):
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
        for name, value in zip(_RESPONSE_SLOTS, fields):
            setattr(head, name, value)
        return head
    try:
        transfer_encoding, found = head._parse_fields(block, RESPONSE_SPECIAL, _HOP_BY_HOP)
        head.body_kind = framing_of(transfer_encoding, head.content_length)
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
        _pack_response(head),
    )
    return head
