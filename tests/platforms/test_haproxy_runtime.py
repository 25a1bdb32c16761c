"""HaproxyRuntime against a real HAProxy: weights without reload, server state, tester map, errors, and
its access log received over syslog."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from canaria.errors import ConfigError, PlatformError
from canaria.platforms.access_log import AccessRecord, parse_haproxy
from canaria.platforms.haproxy_runtime import HaproxyRuntime, parse_address
from canaria.platforms.syslog_receiver import SyslogReceiver

from .proxy_fixtures import Processes, processes, start_haproxy

__all__ = ["processes"]


async def served(url: str, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    async with httpx.AsyncClient(trust_env=False) as client:
        return Counter([(await client.get(url, headers=headers)).text for _ in range(n)])


def test_address_forms() -> None:
    assert parse_address("/run/haproxy/admin.sock") == "/run/haproxy/admin.sock"
    assert parse_address("127.0.0.1:9999") == ("127.0.0.1", 9999)
    with pytest.raises(ConfigError):
        parse_address("nowhere")


async def test_weights_state_and_tester_map(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    proxy = start_haproxy(tmp_path, processes, stable, canary)
    api = HaproxyRuntime(str(proxy.socket))
    assert (await api.version()).startswith("2.")
    assert await api.get_weight("be_app", "canary") == 0
    assert await served(proxy.url, 10) == Counter({"stable": 10})
    await api.set_weight("be_app", "canary", 100)
    assert await api.get_weight("be_app", "canary") == 100
    assert await served(proxy.url, 20) == Counter({"stable": 10, "canary": 10})
    states = {s.name: s for s in await api.servers("be_app")}
    assert states["canary"].weight == 100 and states["stable"].initial_weight == 100
    assert states["stable"].serving and states["canary"].port == canary.port
    await api.set_weight("be_app", "canary", 0)
    assert str(proxy.map_file) in await api.maps()
    await api.add_map(str(proxy.map_file), "always", "canary")
    assert await api.show_map(str(proxy.map_file)) == {"always": "canary"}
    assert await served(proxy.url, 5, {"X-Canary": "always"}) == Counter({"canary": 5})
    assert await served(proxy.url, 5, {"X-Canary": "nope"}) == Counter({"stable": 5})
    await api.clear_map(str(proxy.map_file))
    assert await api.show_map(str(proxy.map_file)) == {}
    assert await served(proxy.url, 5, {"X-Canary": "always"}) == Counter({"stable": 5})


async def test_errors_carry_haproxys_words(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    proxy = start_haproxy(tmp_path, processes, stable, canary)
    api = HaproxyRuntime(str(proxy.socket))
    with pytest.raises(PlatformError, match="No such"):
        await api.set_weight("be_app", "ghost", 5)
    with pytest.raises(PlatformError, match="No such"):
        await api.get_weight("be_nope", "stable")
    with pytest.raises(PlatformError, match="No such"):  # one round trip; the error of any command is seen
        await api.set_weights("be_app", [("canary", 3), ("ghost", 5)])
    assert await api.get_weight("be_app", "canary") == 3
    with pytest.raises(PlatformError, match="cannot reach"):
        await HaproxyRuntime(str(tmp_path / "missing.sock")).version()


async def test_access_log_over_syslog(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary", error_rate=1.0)
    proxy = start_haproxy(tmp_path, processes, stable, canary)
    records: list[AccessRecord] = []

    def on_line(line: str) -> None:
        record = parse_haproxy(line)
        if record:
            records.append(record)

    receiver = SyslogReceiver(f"udp://127.0.0.1:{proxy.log_port}", on_line)
    await receiver.start()
    try:
        await HaproxyRuntime(str(proxy.socket)).set_weight("be_app", "canary", 100)
        await served(proxy.url, 10)
        for _ in range(100):
            if len(records) >= 10:
                break
            await asyncio.sleep(0.02)
    finally:
        await receiver.stop()
    assert Counter((r.server, r.status) for r in records) == Counter({("stable", 200): 5, ("canary", 500): 5})
    assert all(r.latency_ms >= 0 for r in records)
