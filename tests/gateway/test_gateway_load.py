"""Weight changes under concurrent load lose nothing."""

from __future__ import annotations

import asyncio
import json

from .conftest import AUTH, GatewayFactory, admin
from .fakes import RawClient


async def test_100_weight_changes_under_20_concurrent_clients_fail_no_request(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    stop = asyncio.Event()
    failures: list[str] = []
    served = {"stable": 0, "canary": 0}

    async def user() -> None:
        client = RawClient(gateway.public_port)
        try:
            while not stop.is_set():
                status, headers, body = await client.request("POST", "/order", body=b'{"qty": 1}')
                variant = headers.get("x-canaria-variant")
                if status != 200 or variant not in served or json.loads(body)["variant"] != variant:
                    failures.append(f"{status} {variant} {body[:80]!r}")
                    continue
                served[variant] += 1
        finally:
            await client.close()

    users = [asyncio.ensure_future(user()) for _ in range(20)]
    weights = []
    async with admin(gateway) as api:
        for i in range(100):
            weight = float((i * 37) % 101)
            response = await api.put("/admin/weights", json={"canary": weight}, headers=AUTH)
            assert response.status_code == 200
            weights.append(weight)
            await asyncio.sleep(0.002)
    stop.set()
    await asyncio.gather(*users)

    assert failures == []
    assert served["stable"] > 100 and served["canary"] > 100
    assert gateway.canary_weight == weights[-1]
    totals = gateway.totals_payload()
    assert totals["control"]["errors"] == totals["canary"]["errors"] == 0
    assert (
        totals["control"]["requests"] == served["stable"] and totals["canary"]["requests"] == served["canary"]
    )
