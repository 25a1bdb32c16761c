"""Header field blocks: the checks every field line passes, the few fields the gateway acts on, and the
block forwarded without the hop-by-hop lines.

Only the fields the gateway reads or drops are looked at; every other line is forwarded as the bytes it
arrived as, so the block is checked strictly here (a token name, a colon; controls were refused before).
"""

from __future__ import annotations

from collections.abc import Callable

from canaria.gateway.wire import BODY_CHUNKED, BODY_LENGTH, BODY_NONE, HOP_BY_HOP, TOKEN_CHARS, HttpError
from canaria.gateway.wire import content_length_value as _content_length

__all__ = ["REQUEST_DROP", "REQUEST_SPECIAL", "RESPONSE_SPECIAL", "HeadFields", "framing_of", "without_fields"]

_HOP_BY_HOP = HOP_BY_HOP
_TOKEN_CHARS = TOKEN_CHARS
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b""})
#: Fields the gateway reads or drops (besides any "proxy-*"); every other line is forwarded unread.
RESPONSE_SPECIAL = _HOP_BY_HOP | {b"content-length", b"transfer-encoding"}
REQUEST_SPECIAL = RESPONSE_SPECIAL | {
    b"host",
    b"expect",
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
}
# The proxy writes its own Host and X-Forwarded-For, so the client's lines are not forwarded.
REQUEST_DROP = _HOP_BY_HOP | {b"host", b"x-forwarded-for"}
_PREFIXES = (b"proxy-", b"x-forwarded-")


class HeadFields:
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


def framing_of(transfer_encoding: bytes | None, content_length: int | None, *, request: bool = False) -> int:
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
