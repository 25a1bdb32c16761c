"""Retry on stable (issue 10 finding 6: no failover when the canary refuses) and tester routes."""

from __future__ import annotations

import httpx
import pytest

from canaria.gateway.router import RouteMatch

from .conftest import AUTH, GatewayFactory, admin
from .fakes import FakeUpstream, RawClient, free_port


async def test_refused_canary_is_retried_on_stable_and_counted_as_a_canary_failure(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    gateway = await make_gateway(canary_url=f"http://127.0.0.1:{free_port()}")
    gateway.set_canary_weight(100.0)
    client = RawClient(gateway.public_port)
    for _ in range(5):
        status, headers, _ = await client.request("GET", "/")
        assert status == 200 and headers["x-canaria-variant"] == "stable"
    await client.close()
    window = gateway.window_payload(cut=False)
    assert window["canary"]["requests"] == 5 and window["canary"]["errors"] == 5  # the judge sees them all
    assert window["control"]["requests"] == 5 and window["control"]["errors"] == 0
    assert window["streams"]["canary"]["retried_on_stable"] == 5
    assert stable.requests == 5


@pytest.mark.parametrize("code", [502, 503])
async def test_canary_502_or_503_is_retried_on_stable(
    make_gateway: GatewayFactory, stable: FakeUpstream, canary: FakeUpstream, code: int
) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(100.0)
    client = RawClient(gateway.public_port)
    status, headers, _ = await client.request("GET", f"/status/{code}")
    assert status == code and headers["x-canaria-variant"] == "stable"  # stable's own answer to the path
    status, _, _ = await client.request("GET", "/status/500")  # a served error is not retried
    await client.close()
    assert status == 500 and canary.requests == 2 and stable.requests == 1
    window = gateway.window_payload(cut=False)
    assert window["canary"]["errors"] == 2 and window["streams"]["canary"]["retried_on_stable"] == 1


async def test_a_post_the_canary_received_is_never_retried(
    make_gateway: GatewayFactory, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(100.0)
    client = RawClient(gateway.public_port)
    status, headers, _ = await client.request("POST", "/status/502", body=b"{}")
    await client.close()
    assert status == 502 and headers["x-canaria-variant"] == "canary"  # the canary may have acted on it
    assert canary.requests == 1 and stable.requests == 0


async def test_a_post_the_canary_could_not_receive_goes_to_stable_and_off_means_off(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    """A refused connection means the canary never saw the request (it crashed or is restarting): even a
    POST is sent once, to stable, instead of failing the user."""
    down = f"http://127.0.0.1:{free_port()}"
    gateway = await make_gateway(canary_url=down)
    gateway.set_canary_weight(100.0)
    client = RawClient(gateway.public_port)
    status, headers, _ = await client.request("POST", "/order", body=b"{}")
    await client.close()
    assert status == 200 and headers["x-canaria-variant"] == "stable" and stable.requests == 1
    window = gateway.window_payload(cut=False)
    assert window["canary"]["errors"] == 1 and window["streams"]["canary"]["retried_on_stable"] == 1

    off = await make_gateway(canary_url=down, retry_on_stable=False, state_dir=gateway.state_file.parent / "off")
    off.set_canary_weight(100.0)
    client = RawClient(off.public_port)
    status, _, _ = await client.request("GET", "/")
    await client.close()
    assert status == 502 and stable.requests == 1  # only the first gateway's retried POST


async def test_tester_route_sends_only_matching_requests_to_the_canary_at_weight_zero(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    async with admin(gateway) as api:
        answer = await api.put(
            "/admin/weights", json={"canary": 0, "match": {"header": "X-Canary", "value": "always"}}, headers=AUTH
        )
        assert answer.status_code == 200
        assert answer.json()["match"] == {"header": "X-Canary", "value": "always"}
        assert (await api.get("/admin/state", headers=AUTH)).json()["match"] == {"header": "X-Canary", "value": "always"}
        bad = await api.put("/admin/weights", json={"canary": 0, "match": {"header": "X Y", "value": "1"}}, headers=AUTH)
        assert bad.status_code == 422 and "match" in bad.json()["error"]
    client = RawClient(gateway.public_port)
    seen = []
    for headers in ({"X-Canary": "always"}, {}, {"X-Canary": "nope"}, {"X-Canary": "always"}):
        _, response_headers, _ = await client.request("GET", "/", headers=headers)
        seen.append(response_headers["x-canaria-variant"])
    await client.close()
    assert seen == ["canary", "stable", "stable", "canary"]


async def test_cookie_tester_route_survives_a_restart_and_weight_only_changes_keep_it(
    make_gateway: GatewayFactory, tmp_path: object
) -> None:
    gateway = await make_gateway()
    gateway.set_route(0.0, RouteMatch(value="qa", cookie="tester"))
    gateway.set_canary_weight(0.0)  # an old-style weight change keeps the tester route
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.public_port}") as client:
        tester = await client.get("/", headers={"Cookie": "a=1; tester=qa"})
        user = await client.get("/", headers={"Cookie": "tester=other"})
    assert tester.headers["x-canaria-variant"] == "canary" and user.headers["x-canaria-variant"] == "stable"
    await gateway.stop()
    restarted = await make_gateway()
    assert restarted.state()["match"] == {"cookie": "tester", "value": "qa"}
    async with admin(restarted) as api:  # match: null clears it
        cleared = await api.put("/admin/weights", json={"canary": 5, "match": None}, headers=AUTH)
    assert cleared.json()["match"] is None and cleared.json()["canary_weight"] == 5
