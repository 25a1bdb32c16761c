"""Body relays between two streams: fixed length, chunked and close-delimited.

Reads are wrapped so that a failure of the side being read raises SourceError, while a failure of the
side being written propagates as the ConnectionError it is: the proxy must tell an upstream that broke
off (an error of that variant) from a client that went away (nobody's error).
"""

from __future__ import annotations

import asyncio

from canaria.gateway.http import MAX_HEAD_BYTES

__all__ = ["SourceError", "copy_chunked", "copy_exact", "copy_until_eof"]

_COPY_PIECE = 65536
_HEX = b"0123456789abcdefABCDEF"


class SourceError(Exception):
    """The side a body was being read from broke off (as opposed to the side being written to)."""


async def _read(reader: asyncio.StreamReader, n: int, idle_timeout: float | None) -> bytes:
    try:
        if idle_timeout is None:
            chunk = await reader.read(n)
        else:
            async with asyncio.timeout(idle_timeout):
                chunk = await reader.read(n)
    except TimeoutError:
        raise SourceError(f"no data for {idle_timeout:g}s") from None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise SourceError(str(exc) or type(exc).__name__) from None
    if not chunk:
        raise SourceError("connection closed before the end of the body")
    return chunk


async def _readline(reader: asyncio.StreamReader, idle_timeout: float | None) -> bytes:
    try:
        if idle_timeout is None:
            return await reader.readuntil(b"\r\n")
        async with asyncio.timeout(idle_timeout):
            return await reader.readuntil(b"\r\n")
    except TimeoutError:
        raise SourceError(f"no data for {idle_timeout:g}s") from None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise SourceError(str(exc) or type(exc).__name__) from None


async def copy_exact(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
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
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    dechunk: bool = False,
    idle_timeout: float | None = None,
) -> None:
    """Relay a chunked body verbatim (or only its data when `dechunk`, for HTTP/1.0 receivers)."""
    while True:
        line = await _readline(reader, idle_timeout)
        size_text = line[:-2].partition(b";")[0].strip(b" \t")
        if not size_text or size_text.strip(_HEX) or len(size_text) > 15:
            raise SourceError("invalid chunk size")
        size = int(size_text, 16)
        if size == 0:
            trailer = line
            while True:  # trailer fields, then the final empty line
                field = await _readline(reader, idle_timeout)
                trailer += field
                if field == b"\r\n":
                    break
                if len(trailer) > MAX_HEAD_BYTES:
                    raise SourceError("chunked trailer too large")
            if not dechunk:
                writer.write(trailer)
            return
        if not dechunk:
            writer.write(line)
        await copy_exact(reader, writer, size, idle_timeout=idle_timeout)
        crlf = await _readline(reader, idle_timeout)
        if crlf != b"\r\n":
            raise SourceError("chunk data not followed by CRLF")
        if not dechunk:
            writer.write(crlf)


async def copy_until_eof(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, idle_timeout: float | None = None
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
