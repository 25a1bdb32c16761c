"""Weighted and sticky traffic split, end to end through real sockets."""

from __future__ import annotations

import asyncio
import math

from hypothesis import given
from hypothesis import strategies as st

from canaria.gateway import Gateway, sticky_bucket

from .conftest import GatewayFactory
from .fakes import FakeUpstream, RawClient


async def _hammer(
    gateway: Gateway, clients: int, per_client: int, headers: dict[str, str] | None = None
) -> dict[str, int]:
    """`clients` keep-alive connections sending `per_client` requests each; counts by variant header."""
    counts = {"stable": 0, "canary": 0}

    async def run() -> None:
        client = RawClient(gateway.public_port)
        try:
            for _ in range(per_client):
                status, response_headers, _ = await client.request("GET", "/split", headers=headers)
                assert status == 200
                counts[response_headers["x-canaria-variant"]] += 1
        finally:
            await client.close()

    await asyncio.gather(*(run() for _ in range(clients)))
    return counts


async def test_ten_thousand_requests_at_5_percent_land_within_4_sigma(
    make_gateway: GatewayFactory, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway()
    gateway.set_canary_weight(5.0)
    n = 10_000
    counts = await _hammer(gateway, clients=20, per_client=n // 20)

    sigma = math.sqrt(n * 0.05 * 0.95)
    assert abs(counts["canary"] - n * 0.05) <= 4 * sigma, counts
    # what the client saw, what each upstream served and what the gateway measured all agree
    assert (canary.requests, stable.requests) == (counts["canary"], counts["stable"])
    window = gateway.window_payload(cut=False)
    assert window["canary"]["requests"] == counts["canary"]
    assert window["control"]["requests"] == counts["stable"]
    assert window["canary"]["status"] == {"2xx": counts["canary"]}


async def test_weight_0_and_100_are_absolute(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    assert await _hammer(gateway, clients=2, per_client=100) == {"stable": 200, "canary": 0}
    gateway.set_canary_weight(100.0)
    assert await _hammer(gateway, clients=2, per_client=100) == {"stable": 0, "canary": 200}


async def test_sticky_header_keeps_each_user_on_one_variant(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(sticky="header:X-User-Id")
    gateway.set_canary_weight(30.0)
    client = RawClient(gateway.public_port)
    seen: dict[str, set[str]] = {}
    for round_ in range(3):
        for user in range(150):
            _, headers, _ = await client.request("GET", f"/r{round_}", headers={"X-User-Id": f"user-{user}"})
            seen.setdefault(f"user-{user}", set()).add(headers["x-canaria-variant"])
    await client.close()

    assert all(len(variants) == 1 for variants in seen.values())
    for user_id, variants in seen.items():
        expected = "canary" if sticky_bucket(user_id.encode()) < 30.0 else "stable"
        assert variants == {expected}
    canary_users = sum(1 for v in seen.values() if v == {"canary"})
    assert 20 <= canary_users <= 70  # 30 % of 150, loosely: the hash spreads users


async def test_raising_the_weight_only_moves_users_from_stable_to_canary(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(sticky="cookie:session")
    client = RawClient(gateway.public_port)

    async def variants() -> dict[str, str]:
        out = {}
        for user in range(200):
            cookie = f"theme=dark; session=s{user}; lang=en"
            _, headers, _ = await client.request("GET", "/", headers={"Cookie": cookie})
            out[f"s{user}"] = headers["x-canaria-variant"]
        return out

    previous: dict[str, str] | None = None
    for weight in (5.0, 10.0, 25.0, 50.0, 100.0):
        gateway.set_canary_weight(weight)
        current = await variants()
        if previous is not None:
            moved_back = [u for u, v in previous.items() if v == "canary" and current[u] == "stable"]
            assert moved_back == []
        previous = current
    assert previous is not None and set(previous.values()) == {"canary"}
    await client.close()


async def test_requests_without_the_sticky_key_are_split_randomly(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(sticky="header:X-User-Id")
    gateway.set_canary_weight(50.0)
    counts = await _hammer(gateway, clients=4, per_client=100)
    assert counts["canary"] > 100 and counts["stable"] > 100  # both, with overwhelming probability


@given(key=st.binary(min_size=1, max_size=64), low=st.floats(0, 100), high=st.floats(0, 100))
def test_sticky_bucket_is_monotonic_in_the_weight(key: bytes, low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    bucket = sticky_bucket(key)
    assert 0.0 <= bucket < 100.0
    assert sticky_bucket(key) == bucket  # deterministic (not Python's salted hash)
    if bucket < low:
        assert bucket < high
