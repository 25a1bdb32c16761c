"""The admin client and LocalPlatform's route methods against a real gateway: tester routes end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaria.errors import GatewayError
from canaria.gateway.client import GatewayClient
from canaria.platforms import base
from canaria.platforms.local import LocalPlatform

from .conftest import GatewayFactory
from .fakes import FakeUpstream, RawClient, make_config


async def test_local_platform_set_route_applies_and_verify_route_reads_back_the_match(
    make_gateway: GatewayFactory, tmp_path: Path, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway()
    config = make_config(str(tmp_path / "state"), stable.url, canary.url, admin_listen=f"127.0.0.1:{gateway.admin_port}")
    platform = LocalPlatform(config)
    try:
        assert platform.supports_match
        await platform.set_route(0.0, match=base.TesterMatch(value="always", header="X-Canary"))
        status = await platform.verify_route()
        assert status.state == "applied" and status.weight == 0.0
        assert status.match == base.TesterMatch(value="always", header="X-Canary")
        client = RawClient(gateway.public_port)
        _, tester, _ = await client.request("GET", "/", headers={"X-Canary": "always"})
        _, user, _ = await client.request("GET", "/")
        await client.close()
        assert (tester["x-canaria-variant"], user["x-canaria-variant"]) == ("canary", "stable")
        await platform.set_route(5.0)  # no match: the tester route is removed
        status = await platform.verify_route()
        assert status.match is None and status.weight == 5.0
    finally:
        await platform.close()


async def test_client_names_the_default_token_when_the_gateway_refuses_it(
    make_gateway: GatewayFactory, tmp_path: Path, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway(admin_token="change-me")
    config = make_config(
        str(tmp_path / "state"), stable.url, canary.url, admin_listen=f"127.0.0.1:{gateway.admin_port}",
        admin_token="change-me",
    )
    client = GatewayClient(config)
    try:
        with pytest.raises(GatewayError, match="admin_token_insecure_ok"):
            await client.set_weight(5.0)
    finally:
        await client.close()
