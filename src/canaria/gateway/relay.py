"""Body relays between two streams: fixed length, chunked and close-delimited.

Reads are wrapped so that a failure of the side being read raises SourceError, while a failure of the
side being written propagates as the ConnectionError it is: the proxy must tell an upstream that broke
off (an error of that variant) from a client that went away (nobody's error).
"""

from __future__ import annotations

import asyncio

from canaria.gateway.channel import Channel
from canaria.gateway.http import MAX_HEAD_BYTES, HttpError, check_head_bytes

__all__ = ["FramingError", "IdleTimeout", "SourceError", "copy_chunked", "copy_exact", "copy_until_eof"]

_COPY_PIECE = 65536
_HEX = b"0123456789abcdefABCDEF"
_NOT_IN_TRAILERS = frozenset(
    {b"content-length", b"transfer-encoding", b"host", b"connection", b"keep-alive", b"upgrade", b"te", b"trailer"}
)
_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SourceError(Exception):
    """The side a body was being read from broke off (as opposed to the side being written to)."""


class IdleTimeout(SourceError):
    """Nothing arrived from the source for the idle timeout."""


class FramingError(SourceError):
    """The body being read is malformed (bad chunk size, extension or trailer): the sender is at fault,
    and the receiving side must not see the rest (a client gets 400, an upstream's response is cut)."""


def _chunk_size(line: bytes) -> int:
    """The size of a chunk-size line (RFC 9112 7.1): hex digits, optional extensions, CRLF.

    Extensions are forwarded as received, so they must hold no CR, LF or control character that a
    server behind the gateway could read as a line end."""
    size_text, _, extensions = line[:-2].partition(b";")
    if not size_text or size_text.strip(_HEX) or len(size_text) > 15:
        raise FramingError("invalid chunk size")
    if extensions:
        try:
            check_head_bytes(extensions)
        except HttpError:
            raise FramingError("invalid chunk extension") from None
        if b"\r" in extensions or b"\n" in extensions:
            raise FramingError("invalid chunk extension")
    return int(size_text, 16)


def _check_trailer_field(field: bytes) -> None:
    try:
        check_head_bytes(field)
    except HttpError:
        raise FramingError("invalid chunked trailer field") from None
    name, sep, _ = field.partition(b":")
    if not sep or not name or name.strip(_TOKEN_CHARS):
        raise FramingError("invalid chunked trailer field")
    if name.lower() in _NOT_IN_TRAILERS:  # RFC 9110 6.5.1: framing and routing never come in a trailer
        raise FramingError(f"{name.decode('latin-1')} is not allowed in a chunked trailer")


async def _read(reader: Channel, n: int, idle_timeout: float | None) -> bytes:
    try:
        if idle_timeout is None:
            chunk = await reader.read(n)
        else:
            async with asyncio.timeout(idle_timeout):
                chunk = await reader.read(n)
    except TimeoutError:
        raise IdleTimeout(f"no data for {idle_timeout:g}s") from None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise SourceError(str(exc) or type(exc).__name__) from None
    if not chunk:
        raise SourceError("connection closed before the end of the body")
    return chunk


async def _readline(reader: Channel, idle_timeout: float | None) -> bytes:
    try:
        if idle_timeout is None:
            return await reader.readuntil(b"\r\n")
        async with asyncio.timeout(idle_timeout):
            return await reader.readuntil(b"\r\n")
    except TimeoutError:
        raise IdleTimeout(f"no data for {idle_timeout:g}s") from None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise SourceError(str(exc) or type(exc).__name__) from None


async def copy_exact(
    reader: Channel,
    writer: Channel,
    length: int,
    *,
    idle_timeout: float | None = None,
) -> None:
    """Relay exactly `length` body bytes, with backpressure from the receiving side."""
    while length > 0:
        chunk = await _read(reader, min(length, _COPY_PIECE), idle_timeout)
        length -= len(chunk)
        writer.write(chunk)
        await writer.drain()


async def copy_chunked(
    reader: Channel,
    writer: Channel,
    *,
    dechunk: bool = False,
    idle_timeout: float | None = None,
) -> None:
    """Relay a chunked body verbatim (or only its data when `dechunk`, for HTTP/1.0 receivers)."""
    while True:
        line = await _readline(reader, idle_timeout)
        size = _chunk_size(line)
        if size == 0:
            trailer = line
            while True:  # trailer fields, then the final empty line
                field = await _readline(reader, idle_timeout)
                trailer += field
                if field == b"\r\n":
                    break
                _check_trailer_field(field[:-2])
                if len(trailer) > MAX_HEAD_BYTES:
                    raise FramingError("chunked trailer too large")
            if not dechunk:
                writer.write(trailer)
            return
        if not dechunk:
            writer.write(line)
        await copy_exact(reader, writer, size, idle_timeout=idle_timeout)
        crlf = await _readline(reader, idle_timeout)
        if crlf != b"\r\n":
            raise FramingError("chunk data not followed by CRLF")
        if not dechunk:
            writer.write(crlf)


async def copy_until_eof(
    reader: Channel, writer: Channel, *, idle_timeout: float | None = None
) -> None:
    """Relay a close-delimited body."""
    while True:
        try:
            chunk = await _read(reader, _COPY_PIECE, idle_timeout)
        except SourceError:
            if reader.at_eof():
                return
            raise
        writer.write(chunk)
        await writer.drain()
