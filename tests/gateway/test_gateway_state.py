"""Weights and upstreams survive a restart; a bad state file falls back to the safe defaults."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import AUTH, GatewayFactory, admin
from .fakes import FakeUpstream, RawClient


async def test_restart_keeps_weights_and_upstreams(
    make_gateway: GatewayFactory, tmp_path: Path, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    first = await make_gateway()
    async with admin(first) as api:
        await api.put("/admin/weights", json={"canary": 37.5}, headers=AUTH)
    state_file = tmp_path / "state" / "gateway-shop.json"
    saved = json.loads(state_file.read_text())
    assert saved["canary_weight"] == 37.5
    assert saved["upstreams"] == {"stable": stable.url, "canary": canary.url}
    assert [p.name for p in state_file.parent.iterdir()] == ["gateway-shop.json"]  # no temp files left
    await first.stop()

    second = await make_gateway()
    assert second.boot_id != first.boot_id
    assert second.state()["canary_weight"] == 37.5
    client = RawClient(second.public_port)
    variants = {(await client.request("GET", "/"))[1]["x-canaria-variant"] for _ in range(60)}
    await client.close()
    assert variants == {"stable", "canary"}


async def test_promoted_upstreams_survive_a_restart(
    make_gateway: GatewayFactory, canary: FakeUpstream
) -> None:
    first = await make_gateway()
    first.set_upstreams(canary.url, None)
    await first.stop()
    second = await make_gateway()
    assert second.state()["upstreams"] == {"stable": canary.url, "canary": None}


async def test_without_state_the_gateway_starts_at_weight_0_with_config_upstreams(
    make_gateway: GatewayFactory, tmp_path: Path, stable: FakeUpstream, canary: FakeUpstream
) -> None:
    gateway = await make_gateway(state_dir=tmp_path / "fresh")
    assert gateway.state()["canary_weight"] == 0.0
    assert gateway.state()["upstreams"] == {"stable": stable.url, "canary": canary.url}
    assert not (tmp_path / "fresh").exists()  # nothing is written until something changes


async def test_corrupt_or_invalid_state_falls_back_to_defaults(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    state_dir = tmp_path / "bad"
    state_dir.mkdir()
    for content in (
        "{not json",
        json.dumps({"canary_weight": 500, "upstreams": {"stable": "http://x"}}),
        json.dumps({"canary_weight": 5, "upstreams": {"stable": "gopher://x", "canary": None}}),
    ):
        (state_dir / "gateway-shop.json").write_text(content)
        gateway = await make_gateway(state_dir=state_dir)
        assert gateway.canary_weight == 0.0
        await gateway.stop()


async def test_a_change_that_cannot_be_saved_is_refused_and_not_applied(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    gateway = await make_gateway(state_dir=blocker)
    async with admin(gateway) as api:
        response = await api.put("/admin/weights", json={"canary": 20}, headers=AUTH)
    assert response.status_code == 500 and "cannot save gateway state" in response.json()["error"]
    assert gateway.canary_weight == 0.0
