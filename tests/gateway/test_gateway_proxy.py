"""Proxy behaviour: streaming, keep-alive, header hygiene, upstream failures."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from .conftest import GatewayFactory, public
from .fakes import FakeUpstream, RawClient, free_port


async def test_unreachable_canary_gives_502_with_a_clear_body_and_counts_a_canary_error(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(canary_url=f"http://127.0.0.1:{free_port()}", retry_on_stable=False)
    gateway.set_canary_weight(100.0)
    async with public(gateway) as client:
        response = await client.get("/checkout")
    assert response.status_code == 502
    assert response.headers["x-canaria-variant"] == "canary"
    body = response.json()
    assert body["variant"] == "canary"
    assert body["error"].startswith("upstream canary unreachable: ")
    assert "refused" in body["error"].lower()
    window = gateway.window_payload(cut=False)
    assert window["canary"]["errors"] == 1 and window["canary"]["status"] == {"5xx": 1}
    assert window["control"]["requests"] == 0


async def test_slow_upstream_gives_504_and_counts_an_error(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(upstream_timeout=0.3)
    gateway.set_canary_weight(100.0)
    client = RawClient(gateway.public_port)
    status, _headers, body = await client.request("GET", "/slow")
    assert status == 504
    assert json.loads(body) == {
        "error": "upstream canary timed out: no response within 0.3s",
        "variant": "canary",
    }
    # the client connection survives a gateway error and serves the next request
    status, _, _ = await client.request("GET", "/")
    assert status == 200 and client.connects == 1
    await client.close()
    assert gateway.window_payload(cut=False)["canary"]["errors"] == 1


async def test_upstream_5xx_is_passed_through_and_counted_as_an_error(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    assert (await client.request("GET", "/status/503"))[0] == 503
    assert (await client.request("GET", "/status/404"))[0] == 404
    await client.close()
    control = gateway.window_payload(cut=False)["control"]
    assert control["status"] == {"5xx": 1, "4xx": 1} and control["errors"] == 1


async def test_chunked_response_streams_through_intact(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    async with public(gateway) as client, client.stream("GET", "/chunked") as response:
        assert response.headers["transfer-encoding"] == "chunked"
        pieces = [piece async for piece in response.aiter_raw()]
    expected = b"".join(f"part-{i}\n".encode() * 100 for i in range(10))
    assert b"".join(pieces) == expected
    assert len(pieces) > 1  # delivered as it came, not buffered whole


async def test_large_post_bodies_pass_through_intact(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway(trusted_proxies=["127.0.0.1"])  # the test client poses as a proxy
    payload = bytes(range(256)) * 8192  # 2 MiB, larger than any buffer in the gateway
    digest = hashlib.sha256(payload).hexdigest()
    async with public(gateway) as client:
        sized = await client.post("/upload", content=payload)

        async def pieces():  # no length known in advance: httpx sends it chunked
            for start in range(0, len(payload), 100_000):
                yield payload[start : start + 100_000]

        chunked = await client.post("/upload", content=pieces())
    for response in (sized, chunked):
        assert response.status_code == 200
        assert response.json()["body_len"] == len(payload)
        assert response.json()["body_sha256"] == digest
    assert stable.last_headers["transfer-encoding"] == "chunked"


async def test_large_response_body_streams_through_intact(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    status, _headers, body = await client.request("GET", "/big")
    assert status == 200 and body == bytes(range(256)) * 4096
    assert (await client.request("GET", "/"))[0] == 200  # framing kept: the connection is still usable
    await client.close()


async def test_keep_alive_is_reused_on_both_sides(make_gateway: GatewayFactory, stable: FakeUpstream) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    for i in range(50):
        status, _, _ = await client.request("GET", f"/item/{i}")
        assert status == 200
    await client.close()
    assert client.connects == 1
    assert stable.requests == 50 and stable.connections == 1


async def test_stale_pooled_connection_is_retried_transparently(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    assert (await client.request("GET", "/"))[0] == 200
    port = stable.port
    await stable.stop()  # closes the pooled upstream connection behind the gateway's back
    await stable.start(port)
    assert (await client.request("GET", "/"))[0] == 200
    await client.close()
    assert gateway.window_payload(cut=False)["control"]["errors"] == 0


async def test_hop_by_hop_headers_are_stripped_both_ways(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway(trusted_proxies=["127.0.0.1"])  # the test client poses as a proxy
    client = RawClient(gateway.public_port)
    request_headers = {
        "Connection": "keep-alive, X-Client-Hop",
        "X-Client-Hop": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic abc",
        "TE": "trailers",
        "Upgrade": "websocket",
        "X-Forwarded-For": "203.0.113.9",
        "X-Kept": "yes",
    }
    status, response_headers, body = await client.request("GET", "/hop", headers=request_headers)
    await client.close()
    assert status == 200
    seen = json.loads(body)["headers"]
    for name in ("x-client-hop", "keep-alive", "proxy-authorization", "te", "upgrade"):
        assert name not in seen
    assert "connection" not in seen  # HTTP/1.1 keep-alive to the upstream is the default; nothing to say
    assert seen["x-kept"] == "yes"
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{gateway.public_port}"
    assert seen["host"] == f"127.0.0.1:{stable.port}"
    for name in ("x-secret-hop", "keep-alive", "proxy-authenticate", "trailer", "upgrade", "connection"):
        assert name not in response_headers
    assert response_headers["x-end-to-end"] == "yes"
    assert response_headers["x-canaria-variant"] == "stable"


async def test_close_delimited_response_is_relayed_then_the_client_is_closed(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    status, headers, body = await client.request("GET", "/close")
    assert status == 200 and body == b"until-close" * 50
    assert headers["connection"] == "close"
    await client.close()


async def test_http10_client_and_head_requests(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(b"GET /chunked HTTP/1.0\r\n\r\n")
    data = await reader.read()  # HTTP/1.0: de-chunked body, then the gateway closes
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0] and b"chunked" not in head.lower()
    assert body == b"".join(f"part-{i}\n".encode() * 100 for i in range(10))

    client = RawClient(gateway.public_port)
    status, headers, body = await client.request("HEAD", "/")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    assert (await client.request("GET", "/"))[0] == 200
    await client.close()


async def test_expect_100_continue_is_answered_by_the_gateway(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"hello")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_malformed_and_smuggling_requests_are_refused(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway()
    bad_requests = [
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    ]
    for raw in bad_requests:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
        writer.write(raw)
        response = await reader.read()
        writer.close()
        assert response.split(b" ")[1] in (b"400", b"505"), raw
    assert stable.requests == 0


async def test_public_status_and_metrics_are_answered_by_the_gateway(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(public_status_upstreams=True)
    gateway.set_canary_weight(10.0)
    client = RawClient(gateway.public_port)
    await client.request("GET", "/")
    _, _, status_body = await client.request("GET", "/api/v2/canary/status")
    _, _, metrics_body = await client.request("GET", "/api/v2/canary/metrics?x=1")
    posted, posted_headers, _ = await client.request("POST", "/api/v2/canary/status", body=b"{}")  # proxied
    await client.close()
    status = json.loads(status_body)
    assert status == {"service": "shop", "canary_weight": 10.0, "upstreams": gateway.state()["upstreams"]}
    metrics = json.loads(metrics_body)
    assert metrics["service"] == "shop" and metrics["canary_weight"] == 10.0
    assert set(metrics["window"]) >= {"start", "now", "duration_s", "control", "canary"}
    assert metrics["totals"]["control"]["requests"] + metrics["totals"]["canary"]["requests"] == 1
    assert "p99_ms" in metrics["window"]["control"] and "error_rate_pct" in metrics["window"]["canary"]
    assert posted == 200 and posted_headers["x-served-by"] == posted_headers["x-canaria-variant"]
    totals = gateway.totals_payload()
    assert totals["control"]["requests"] + totals["canary"]["requests"] == 2


async def test_status_provider_fields_are_merged_sync_or_async(make_gateway: GatewayFactory) -> None:
    async def metrics_provider() -> dict[str, object]:
        await asyncio.sleep(0)
        return {"score": 97}

    gateway = await make_gateway(
        gateway_kwargs={"status_provider": lambda: {"phase": "stage-1"}, "metrics_provider": metrics_provider}
    )
    client = RawClient(gateway.public_port)
    status = json.loads((await client.request("GET", "/api/v2/canary/status"))[2])
    metrics = json.loads((await client.request("GET", "/api/v2/canary/metrics"))[2])
    await client.close()
    assert status["phase"] == "stage-1" and status["service"] == "shop"
    assert metrics["score"] == 97 and "window" in metrics


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made once per module: key generation is slow)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_upstream_is_verified_and_kept_alive(
    make_gateway: GatewayFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls_cert: tuple[Path, Path]
) -> None:
    cert, key = tls_cert
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    secure = await FakeUpstream("secure").start(tls=server_tls)
    client: RawClient | None = None
    try:
        # untrusted certificate: the gateway refuses the upstream
        gateway = await make_gateway(canary_url=secure.url, retry_on_stable=False)
        gateway.set_canary_weight(100.0)
        client = RawClient(gateway.public_port)
        status, _, body = await client.request("GET", "/")
        assert status == 502, body
        error = json.loads(body)["error"]
        assert error.startswith(
            f"upstream canary unreachable: TLS handshake with 127.0.0.1:{secure.port} failed"
        )
        assert "certificate" in error
        await client.close()

        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted from now on
        trusting = await make_gateway(canary_url=secure.url, state_dir=tmp_path / "other")
        trusting.set_canary_weight(100.0)
        client = RawClient(trusting.public_port)
        for _ in range(5):
            status, headers, _ = await client.request("GET", "/")
            assert status == 200 and headers["x-served-by"] == "secure"
        assert secure.connections == 1  # kept alive (the refused handshake never reached the handler)
    finally:
        if client is not None:
            await client.close()
        await secure.stop()


async def test_upstream_url_path_is_prefixed_to_every_target(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway(stable_url=stable.url + "/v2/")
    assert gateway.state()["upstreams"]["stable"] == stable.url + "/v2"
    client = RawClient(gateway.public_port)
    _, _, body = await client.request("GET", "/items?page=2")
    await client.close()
    assert json.loads(body)["target"] == "/v2/items?page=2"


async def test_upstream_breaking_off_a_body_aborts_the_client_and_counts_an_error(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(100.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(b"GET /truncated HTTP/1.1\r\nHost: x\r\n\r\n")
    received = await reader.read()  # the gateway closes the connection: the client sees a short body
    writer.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-length: 100000" in head.lower() and len(body) == 70000
    canary = gateway.window_payload(cut=False)["canary"]
    assert canary["requests"] == 1 and canary["errors"] == 1 and canary["status"] == {"2xx": 1}


async def test_client_leaving_mid_response_is_not_an_error_and_the_gateway_carries_on(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    writer.close()  # leaves after the head of a 1 MiB body
    for _ in range(50):
        await asyncio.sleep(0.01)
        if gateway.window_payload(cut=False)["control"]["requests"] == 1:
            break
    client = RawClient(gateway.public_port)
    assert (await client.request("GET", "/"))[0] == 200
    await client.close()
    control = gateway.window_payload(cut=False)["control"]
    assert control["requests"] == 2 and control["errors"] == 0


async def test_a_reused_connection_dropped_by_the_upstream_is_retried_only_for_idempotent_methods(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    assert (await client.request("GET", "/"))[0] == 200
    stable.drop_next_reused = True
    status, _, _ = await client.request("GET", "/again")
    assert status == 200 and stable.connections == 2  # replayed on a fresh connection

    stable.drop_next_reused = True
    status, _, body = await client.request("POST", "/pay", body=b'{"amount": 10}')
    assert status == 502  # the upstream might have charged: never sent twice
    assert json.loads(body)["error"] == "upstream stable failed: closed the connection without a response"
    await client.close()
    assert stable.requests == 2
