"""The bytes-level rules both heads share: limits, framing kinds, the character classes RFC 9110/9112
allow, the error a malformed message raises, and the gateway's own small JSON answers.

Split from http.py so that the head parsers read on their own; everything here is re-exported there.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "BODY_CHUNKED",
    "BODY_CLOSE",
    "BODY_LENGTH",
    "BODY_NONE",
    "DIGITS",
    "HOP_BY_HOP",
    "MAX_HEAD_BYTES",
    "TARGET_BYTES",
    "TOKEN_CHARS",
    "HttpError",
    "check_head_bytes",
    "content_length_value",
    "is_token",
    "json_response",
]

#: Largest request or response head accepted (also the Channel read limit, so a longer head is a 431).
MAX_HEAD_BYTES = 65536

BODY_NONE = 0
BODY_LENGTH = 1
BODY_CHUNKED = 2
BODY_CLOSE = 3  # response only: the body ends when the upstream closes the connection

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"te", b"trailer", b"upgrade"})
TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = b"0123456789"
#: Bytes a head may contain besides its CRLF line ends: SP, HTAB, VCHAR, obs-text.
_HEAD_BYTES = bytes([9, *range(32, 127), *range(128, 256)])
#: Bytes a request target may contain (RFC 3986: visible ASCII; anything else must be percent-encoded).
TARGET_BYTES = bytes(range(33, 127))

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


def is_token(value: bytes) -> bool:
    return bool(value) and not value.strip(TOKEN_CHARS)


def check_head_bytes(data: bytes) -> None:
    """Reject control characters and any CR or LF that is not part of a CRLF pair.

    Two C-speed passes over the whole head instead of a per-line check: with the CRLF pairs removed, no
    CR, LF or other control character may be left. This is what stops the smuggling the issue found
    (a bare LF that a server behind the gateway reads as a line end)."""
    if data.replace(b"\r\n", b"").translate(None, _HEAD_BYTES):
        raise HttpError(400, "bare CR or LF, or a control character, in the message head")


def content_length_value(value: bytes, current: int | None) -> int:
    """One Content-Length: digits only. A list ("5, 5") or a second Content-Length line is refused even when
    the values agree (RFC 9110 8.6 lets a recipient refuse it; llhttp does, and so may a server behind us)."""
    if current is not None:
        raise HttpError(400, "more than one Content-Length")
    text = value.strip(b" \t")
    if not text.isdigit() or len(text) > 18:
        raise HttpError(400, "invalid Content-Length")
    return int(text)


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
