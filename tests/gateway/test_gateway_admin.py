"""The admin API: token, validation, upstream swaps, windows, Prometheus and shutdown."""

from __future__ import annotations

import asyncio
import os

import pytest

from .conftest import AUTH, GatewayFactory, admin
from .fakes import FakeUpstream, RawClient

PROTECTED = [
    ("GET", "/admin/state", None),
    ("PUT", "/admin/weights", {"canary": 50.0}),
    ("PUT", "/admin/upstreams", {"stable": "http://127.0.0.1:1", "canary": None}),
    ("GET", "/admin/window", None),
    ("POST", "/admin/window/cut", None),
    ("GET", "/admin/totals", None),
    ("POST", "/admin/shutdown", None),
    ("GET", "/admin/nothing-here", None),
]


@pytest.mark.parametrize(
    "auth",
    [None, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}, {"Authorization": "Basic s3cret"}],
)
async def test_without_a_valid_token_every_endpoint_is_401_and_nothing_changes(
    make_gateway: GatewayFactory, auth: dict[str, str] | None
) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(5.0)
    before = gateway.state()
    async with admin(gateway) as client:
        for method, path, body in PROTECTED:
            response = await client.request(method, path, json=body, headers=auth)
            assert response.status_code == 401, path
            assert response.json() == {"error": "missing or invalid bearer token"}
            assert response.headers["www-authenticate"] == "Bearer"
    assert gateway.state() == before
    assert gateway.canary_weight == 5.0
    await asyncio.sleep(0.05)
    assert not gateway.stopping  # the shutdown call without a token did nothing


async def test_health_needs_no_token(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    async with admin(gateway) as client:
        response = await client.get("/admin/health")
    assert response.json() == {"ok": True, "pid": os.getpid(), "boot_id": gateway.boot_id}


async def test_state_and_weights(
    make_gateway: GatewayFactory, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway(sticky="header:X-User")
    async with admin(gateway) as client:
        state = (await client.get("/admin/state", headers=AUTH)).json()
        assert state["canary_weight"] == 0.0
        assert state["upstreams"] == {"stable": stable.url, "canary": canary.url}
        assert state["sticky"] == "header:X-User" and state["pid"] == os.getpid()
        assert state["boot_id"] == gateway.boot_id and state["started_at"] == gateway.started_at
        response = await client.put("/admin/weights", json={"canary": 12.5}, headers=AUTH)
        assert response.status_code == 200 and response.json()["canary_weight"] == 12.5
        assert gateway.canary_weight == 12.5


@pytest.mark.parametrize(
    "body",
    [{"canary": 150}, {"canary": -1}, {"canary": "5"}, {"canary": True}, {"canary": None}, {}, [5], "NaN"],
)
async def test_bad_weight_is_422_and_nothing_changes(make_gateway: GatewayFactory, body: object) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(5.0)
    async with admin(gateway) as client:
        if body == "NaN":
            response = await client.put("/admin/weights", content=b'{"canary": NaN}', headers=AUTH)
        else:
            response = await client.put("/admin/weights", json=body, headers=AUTH)
    assert response.status_code == 422
    assert "error" in response.json()
    assert gateway.canary_weight == 5.0


async def test_upstream_swap_on_promotion_routes_new_requests_to_the_new_stable(
    make_gateway: GatewayFactory, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(50.0)
    async with admin(gateway) as client:
        response = await client.put(
            "/admin/upstreams", json={"stable": canary.url, "canary": None}, headers=AUTH
        )
        assert response.status_code == 200
        assert response.json()["upstreams"] == {"stable": canary.url, "canary": None}
        for bad in (
            {"stable": "ftp://x", "canary": None},
            {"stable": "http://", "canary": None},
            {"stable": canary.url},
            {"stable": canary.url, "canary": 7},
            {"stable": "http://h:99999"},
        ):
            rejected = await client.put("/admin/upstreams", json=bad, headers=AUTH)
            assert rejected.status_code == 422, bad
    assert gateway.state()["upstreams"] == {"stable": canary.url, "canary": None}
    client_ = RawClient(gateway.public_port)
    for _ in range(20):  # weight is still 50 but there is no canary: everything goes to the new stable
        _, headers, _ = await client_.request("GET", "/")
        assert headers["x-served-by"] == "canary" and headers["x-canaria-variant"] == "stable"
    await client_.close()
    assert stable.requests == 0


async def test_window_cut_resets_the_window_but_not_the_totals(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(50.0)
    client = RawClient(gateway.public_port)
    for _ in range(40):
        await client.request("GET", "/")
    async with admin(gateway) as api:
        window = (await api.get("/admin/window", headers=AUTH)).json()
        assert window["control"]["requests"] + window["canary"]["requests"] == 40
        assert window["canary_weight"] == 50.0 and window["now"] >= window["start"]
        assert (await api.get("/admin/window", headers=AUTH)).json()["control"] == window[
            "control"
        ]  # no reset
        cut = (await api.post("/admin/window/cut", headers=AUTH)).json()
        assert cut["control"]["requests"] + cut["canary"]["requests"] == 40
        assert cut["control"]["latency"]["count"] == cut["control"]["requests"]
        for _ in range(10):
            await client.request("GET", "/status/500")
        after = (await api.get("/admin/window", headers=AUTH)).json()
        totals = (await api.get("/admin/totals", headers=AUTH)).json()
    await client.close()
    assert after["start"] == cut["now"]
    assert after["control"]["requests"] + after["canary"]["requests"] == 10
    assert after["control"]["errors"] + after["canary"]["errors"] == 10
    assert totals["control"]["requests"] + totals["canary"]["requests"] == 50
    assert totals["control"]["errors"] + totals["canary"]["errors"] == 10
    assert totals["start"] == gateway.meter.boot
    assert set(totals) == {"start", "now", "canary_weight", "control", "canary", "streams"}


async def test_prometheus_metrics_need_no_token(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(retry_on_stable=False)
    gateway.set_canary_weight(100.0)
    client = RawClient(gateway.public_port)
    for path in ("/", "/", "/status/503"):
        await client.request("GET", path)
    await client.close()
    async with admin(gateway) as api:
        text = (await api.get("/metrics")).text
    assert 'canaria_gateway_requests_total{code_class="2xx",variant="canary"} 2.0' in text
    assert 'canaria_gateway_requests_total{code_class="5xx",variant="canary"} 1.0' in text
    assert 'canaria_gateway_request_duration_seconds_count{variant="canary"} 3.0' in text
    assert 'canaria_gateway_request_duration_seconds_bucket{le="+Inf",variant="stable"} 0.0' in text
    assert "canaria_gateway_canary_weight 100.0" in text


async def test_unknown_path_and_wrong_method(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    async with admin(gateway) as api:
        assert (await api.get("/admin/nope", headers=AUTH)).status_code == 404
        wrong = await api.get("/admin/weights", headers=AUTH)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "PUT"


async def test_shutdown_finishes_in_flight_requests_then_stops(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    in_flight = asyncio.ensure_future(client.request("GET", "/slow"))  # the upstream answers after 1 s
    await asyncio.sleep(0.1)
    async with admin(gateway) as api:
        response = await api.post("/admin/shutdown", headers=AUTH)
    assert response.json() == {"ok": True, "stopping": True}
    status, headers, _ = await in_flight
    assert status == 200 and headers["connection"] == "close"
    await asyncio.wait_for(gateway.wait_stopped(), 5)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", gateway.public_port)
    await client.close()
