"""Issue 10 finding 2: deadlines and connection limits on both listeners (stalled sockets are closed)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
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


async def test_a_client_that_never_reads_its_response_is_dropped_after_the_send_timeout(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    """Issue 10: a client that stops reading must not hold a connection (and its unsent bytes) for ever."""
    gateway = await make_gateway(send_timeout=0.5, stream_idle_timeout=60)
    conns = gateway._public_conns
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the gateway's buffer fills
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", gateway.public_port))
        await loop.sock_sendall(sock, b"GET /huge HTTP/1.1\r\nHost: a\r\n\r\n")
        started = time.monotonic()
        while not stable.requests and time.monotonic() - started < 5.0:
            await asyncio.sleep(0.01)
        assert len(conns) == 1
        while len(conns) and time.monotonic() - started < 5.0:  # never read a byte meanwhile
            await asyncio.sleep(0.05)
        dropped_after = time.monotonic() - started
        assert len(conns) == 0 and conns.send_timeouts == 1, "the connection is still open"
        assert 0.4 <= dropped_after < 2.5, dropped_after
        # the client now reads what reached it: the response was cut off, not delivered whole
        received = 0
        with contextlib.suppress(ConnectionError):
            while chunk := await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), 5.0):
                received += len(chunk)
        assert received < 16 * 1024 * 1024
    finally:
        sock.close()
    assert stable.requests == 1
    # the user stopped reading: that is not an error of the variant
    assert gateway.meter.window().control.errors == 0


async def test_a_slow_but_steady_reader_is_not_dropped(make_gateway: GatewayFactory, stable: FakeUpstream) -> None:
    gateway = await make_gateway(send_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port, limit=1 << 16)
    try:
        writer.write(b"GET /huge HTTP/1.1\r\nHost: a\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        received = 0
        while received < 16 * 1024 * 1024:
            received += len(await asyncio.wait_for(reader.read(1 << 20), 5.0) or b"x" * (16 << 20))
            await asyncio.sleep(0.01)  # reads slowly, but never stops for a send timeout
        assert received == 16 * 1024 * 1024
        assert gateway._public_conns.send_timeouts == 0
    finally:
        writer.close()
