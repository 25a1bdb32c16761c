"""Issue 10 finding 5: WebSocket tunnelling and honest measurement of long-lived responses.

The WebSocket side uses the real `websockets` client and server; the SSE origin is a raw asyncio server
that streams events for a while, as an SSE endpoint does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from .conftest import GatewayFactory
from .fakes import RawClient

websockets = pytest.importorskip("websockets", reason="the websockets package is in the test extra")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(f"{connection.request.path}:{message}")  # type: ignore[union-attr]


@pytest.fixture
async def ws_origin() -> AsyncIterator[str]:
    async with serve(_echo, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}"


async def test_websocket_is_tunnelled_both_ways_to_the_variant_the_split_chose(
    make_gateway: GatewayFactory, ws_origin: str
) -> None:
    gateway = await make_gateway(stable_url=ws_origin, canary_url=ws_origin)
    gateway.set_canary_weight(100.0)
    async with connect(f"ws://127.0.0.1:{gateway.public_port}/chat") as ws:
        assert ws.response.headers["X-Canaria-Variant"] == "canary"
        for i in range(3):
            await ws.send(f"hello-{i}")
            assert await ws.recv() == f"/chat:hello-{i}"
        big = "x" * 200_000
        await ws.send(big)
        assert await ws.recv() == f"/chat:{big}"
    for _ in range(50):  # the tunnel is recorded when both sides have closed
        if gateway.window_payload(cut=False)["streams"]["canary"]["upgrades"]:
            break
        await asyncio.sleep(0.02)
    window = gateway.window_payload(cut=False)
    assert window["canary"]["status"] == {"1xx": 1} and window["canary"]["errors"] == 0
    assert window["streams"]["canary"]["upgrades"] == 1 and window["streams"]["control"]["upgrades"] == 0


async def test_quiet_websocket_is_closed_by_the_stream_idle_timeout_without_an_error(
    make_gateway: GatewayFactory, ws_origin: str
) -> None:
    gateway = await make_gateway(stable_url=ws_origin, canary_url=ws_origin, stream_idle_timeout=0.3)
    async with connect(f"ws://127.0.0.1:{gateway.public_port}/", ping_interval=None) as ws:
        await ws.send("a")
        assert await ws.recv() == "/:a"
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(3.0):
                await ws.recv()
    window = gateway.window_payload(cut=False)
    assert window["streams"]["control"]["idle_closed"] == 1 and window["control"]["errors"] == 0


class _SseOrigin:
    """`/events` streams 5 events 120 ms apart (then ends the chunked body); anything else is fast."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /events "):
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                    for i in range(5):
                        event = b"data: %d\n\n" % i
                        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                        await writer.drain()
                        await asyncio.sleep(0.12)
                    writer.write(b"0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_sse_streams_do_not_look_like_a_latency_regression(make_gateway: GatewayFactory) -> None:
    """The issue's false rollback: 10 % SSE streams, identical versions -> the same, fast P95 on both."""
    origin = _SseOrigin()
    url = await origin.start()
    try:
        gateway = await make_gateway(stable_url=url, canary_url=url)
        gateway.set_canary_weight(50.0)
        rng = random.Random(7)

        async def user() -> None:
            client = RawClient(gateway.public_port)
            for _ in range(20):
                status, _, body = await client.request("GET", "/events" if rng.random() < 0.1 else "/")
                assert status == 200 and body
            await client.close()

        await asyncio.gather(*(user() for _ in range(10)))
        window = gateway.window_payload(cut=False)
    finally:
        await origin.stop()
    streams = window["streams"]["control"]["streams"] + window["streams"]["canary"]["streams"]
    assert streams >= 5  # the SSE share really ran
    assert window["streams"]["control"]["stream_ms_max"] >= 450 or window["streams"]["canary"]["stream_ms_max"] >= 450
    for variant in ("control", "canary"):
        counts = window[variant]["latency"]
        assert window[variant]["errors"] == 0
        assert _p95_ms(counts) < 150, (variant, counts)  # a stream lasts ~0.6 s; its head comes at once


def _p95_ms(latency: dict[str, object]) -> float:
    from canaria.analysis.window import VariantWindow

    window = VariantWindow.from_dict({"latency": latency, "requests": 1})
    value = window.p95_ms
    assert value is not None
    return float(value)


async def test_a_stream_quieter_than_the_upstream_timeout_is_not_cut_or_counted_as_an_error(
    make_gateway: GatewayFactory,
) -> None:
    """The issue: an idle stream was cut at `upstream_timeout` and counted as an error. Events 120 ms apart
    pass a 60 ms upstream timeout (which bounds only the wait for the head); stream_idle_timeout rules."""
    origin = _SseOrigin()
    url = await origin.start()
    try:
        gateway = await make_gateway(stable_url=url, canary_url=url, upstream_timeout=0.06, stream_idle_timeout=2.0)
        client = RawClient(gateway.public_port)
        status, _, body = await client.request("GET", "/events")
        await client.close()
    finally:
        await origin.stop()
    assert status == 200 and body.count(b"data: ") == 5
    window = gateway.window_payload(cut=False)
    assert window["control"]["errors"] == 0 and window["streams"]["control"]["streams"] == 1
    assert window["streams"]["control"]["idle_closed"] == 0
