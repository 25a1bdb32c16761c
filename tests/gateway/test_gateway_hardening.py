"""Issue 10 finding 6: admin API and public endpoints a reviewer could abuse."""

from __future__ import annotations

import json

from .conftest import AUTH, GatewayFactory, admin
from .fakes import FakeUpstream, RawClient


async def test_deeply_nested_or_huge_json_is_a_4xx_not_a_500(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    async with admin(gateway) as api:
        deep = b"[" * 30000 + b"]" * 30000
        nested = await api.put("/admin/weights", content=deep[:65000], headers=AUTH)
        assert nested.status_code == 422, nested.text
        deep_object = b'{"canary": ' + b'{"a": ' * 20000 + b"1" + b"}" * 20000 + b"}"
        answer = await api.put("/admin/weights", content=deep_object[:65536], headers=AUTH)
        assert 400 <= answer.status_code < 500
        huge = await api.put("/admin/weights", content=b" " * 70000, headers=AUTH)
        assert huge.status_code == 413
    assert gateway.canary_weight == 0.0


async def test_default_admin_token_is_refused_unless_explicitly_allowed(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(admin_token="change-me")
    async with admin(gateway) as api:
        answer = await api.put("/admin/weights", json={"canary": 50}, headers={"Authorization": "Bearer change-me"})
        assert answer.status_code == 401 and "change-me" in answer.json()["error"]
        assert (await api.get("/admin/health")).status_code == 200  # open routes stay open
    assert gateway.canary_weight == 0.0
    allowed = await make_gateway(admin_token="change-me", admin_token_insecure_ok=True)
    async with admin(allowed) as api:
        answer = await api.put("/admin/weights", json={"canary": 50}, headers={"Authorization": "Bearer change-me"})
    assert answer.status_code == 200 and allowed.canary_weight == 50.0


async def test_a_clients_own_forwarding_headers_are_replaced_unless_it_is_a_trusted_proxy(
    make_gateway: GatewayFactory, stable: FakeUpstream
) -> None:
    spoof = {
        "X-Forwarded-For": "10.1.1.1",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        "Forwarded": "for=10.1.1.1",
    }
    gateway = await make_gateway()
    client = RawClient(gateway.public_port)
    _, _, body = await client.request("GET", "/", headers=spoof)
    await client.close()
    seen = json.loads(body)["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{gateway.public_port}"
    assert seen["x-forwarded-proto"] == "http"
    assert "forwarded" not in seen and "x-forwarded-port" not in seen

    trusting = await make_gateway(trusted_proxies=["127.0.0.0/8"], state_dir=gateway.state_file.parent / "t")
    client = RawClient(trusting.public_port)
    _, _, body = await client.request("GET", "/", headers=spoof)
    await client.close()
    seen = json.loads(body)["headers"]
    assert seen["x-forwarded-for"] == "10.1.1.1, 127.0.0.1"
    assert seen["x-forwarded-host"] == "evil.example" and seen["forwarded"] == "for=10.1.1.1"


async def test_public_status_shows_no_upstream_addresses_by_default(make_gateway: GatewayFactory) -> None:
    def provider() -> dict[str, object]:
        return {"phase": "progressing", "platform": {"stable": {"url": "http://10.0.0.5:9001"}}}

    gateway = await make_gateway(gateway_kwargs={"status_provider": provider})
    client = RawClient(gateway.public_port)
    _, _, body = await client.request("GET", "/api/v2/canary/status")
    await client.close()
    assert b"127.0.0.1" not in body and b"10.0.0.5" not in body
    status = json.loads(body)
    assert status["phase"] == "progressing" and "upstreams" not in status
