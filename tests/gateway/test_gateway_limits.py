"""Issue 10 finding 2: deadlines and connection limits on both listeners (stalled sockets are closed)."""

from __future__ import annotations

import asyncio
import time

from .conftest import GatewayFactory
from .fakes import FakeUpstream, RawClient

STALLED_BODY = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"


async def _read_until_closed(reader: asyncio.StreamReader, timeout: float) -> bytes:
    async with asyncio.timeout(timeout):
        return await reader.read(-1)


async def test_stalled_request_body_is_answered_408_and_closed_after_the_body_timeout(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway(body_timeout=0.4)
    for port in (gateway.public_port, gateway.admin_port):  # both listeners
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        writer.write(STALLED_BODY.replace(b"/upload", b"/admin/weights" if port == gateway.admin_port else b"/upload"))
        answer = await _read_until_closed(reader, 3.0)
        waited = time.monotonic() - started
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:60]
        assert 0.3 <= waited < 2.0
    assert stable.requests == 0


async def test_hundreds_of_stalled_sockets_do_not_block_new_clients(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway(body_timeout=1.0, header_timeout=1.0)
    stalled = []
    try:
        for i in range(300):
            reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
            writer.write(STALLED_BODY if i % 2 else b"GET / HTTP/1.1\r\nHost: a\r\n")  # half stall in the head
            stalled.append((reader, writer))
        await asyncio.sleep(0.1)
        client = RawClient(gateway.public_port)
        started = time.monotonic()
        status, _, _ = await client.request("GET", "/")
        assert status == 200 and time.monotonic() - started < 1.0
        await client.close()
        answers = await asyncio.gather(*(_read_until_closed(r, 5.0) for r, _ in stalled))
        assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers)
        assert len(gateway._public_conns) == 0
    finally:
        for _, writer in stalled:
            writer.close()
    assert stable.requests == 1


async def test_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(keepalive_timeout=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    rest = await _read_until_closed(reader, 3.0)  # the body, then the close: no 408 for an idle connection
    writer.close()
    assert b"HTTP/1.1" not in rest


async def test_per_client_and_total_connection_caps_answer_503_at_once(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(max_connections_per_ip=3, header_timeout=5.0)
    held = [await asyncio.open_connection("127.0.0.1", gateway.public_port) for _ in range(3)]
    await asyncio.sleep(0.05)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
        answer = await _read_until_closed(reader, 2.0)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503 ") and b"too many connections per client" in answer
        assert b"Retry-After: 1" in answer
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.1)  # the held ones are gone: a new client is served again
    client = RawClient(gateway.public_port)
    status, _, _ = await client.request("GET", "/")
    await client.close()
    assert status == 200

    total = await make_gateway(max_connections=2)
    held = [await asyncio.open_connection("127.0.0.1", total.admin_port) for _ in range(2)]
    await asyncio.sleep(0.05)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", total.admin_port)
        answer = await _read_until_closed(reader, 2.0)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503 ") and b"in total" in answer
    finally:
        for _, writer in held:
            writer.close()
