"""The nginx and HAProxy backends with real proxies: routes verified from what the proxy applies,
tester routes, rollback, promote, a canary canaria starts and restarts, checks, and the access log
counted into per-variant windows."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from canaria.metrics.access_log import AccessLogSource
from canaria.platforms import base
from canaria.platforms.haproxy import HaproxyPlatform
from canaria.platforms.nginx import NginxPlatform
from canaria.platforms.processes import free_port

from .proxy_fixtures import (
    UPSTREAM_SCRIPT,
    Origin,
    Processes,
    as_config,
    haproxy_config,
    haproxy_platform,
    nginx_config,
    nginx_platform,
    processes,
    start_haproxy,
    start_nginx,
)

__all__ = ["processes"]
TESTERS = base.TesterMatch(header="X-Canary", value="always")


async def served(url: str, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    async with httpx.AsyncClient(trust_env=False) as client:
        return Counter([(await client.get(url + "/", headers=headers)).text for _ in range(n)])


async def applied(platform: base.Platform) -> None:
    for _ in range(200):
        if (await platform.verify_route()).state == "applied":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(await platform.verify_route())


async def make(kind: str, tmp_path: Path, procs: Processes, canary_error_rate: float = 0.0
               ) -> tuple[base.Platform, str, Origin, Origin]:
    stable, canary = procs.origin("stable"), procs.origin("canary", canary_error_rate)
    if kind == "nginx":
        nginx = start_nginx(tmp_path, procs, [stable.address], [canary.address])
        return nginx_platform(nginx, stable, canary, tmp_path), nginx.url, stable, canary
    proxy = start_haproxy(tmp_path, procs, stable, canary)
    return haproxy_platform(proxy, stable, canary, tmp_path), proxy.url, stable, canary


@pytest.mark.parametrize("kind", ["nginx", "haproxy"])
async def test_route_testers_rollback_promote(kind: str, tmp_path: Path, processes: Processes) -> None:
    platform, url, _stable, _canary = await make(kind, tmp_path, processes)
    try:
        await platform.ensure_stable()
        await platform.start_canary()
        await platform.set_route(0.0, match=TESTERS)
        await applied(platform)
        status = await platform.verify_route()
        assert status.weight == 0.0 and status.match == TESTERS, status
        assert await served(url, 6, {"X-Canary": "always"}) == Counter({"canary": 6})
        assert await served(url, 6) == Counter({"stable": 6})
        await platform.set_route(10.0)
        await applied(platform)
        status = await platform.verify_route()
        assert status.weight == 10.0 and status.match is None
        assert await served(url, 20) == Counter({"stable": 18, "canary": 2})
        await platform.rollback(keep_canary=True)
        await applied(platform)
        assert (await platform.verify_route()).weight == 0.0
        assert await served(url, 10) == Counter({"stable": 10})
        await platform.promote()
        await applied(platform)
        assert (await platform.verify_route()).weight == 100.0
        assert await served(url, 10) == Counter({"canary": 10})
        described = await platform.describe()
        assert described["stable"].version == "v2"
        checks = await platform.checks()
        assert all(check.ok for check in checks), checks
    finally:
        await platform.close()


@pytest.mark.parametrize("kind", ["nginx", "haproxy"])
async def test_access_log_feeds_per_variant_windows(kind: str, tmp_path: Path, processes: Processes) -> None:
    platform, url, stable, canary = await make(kind, tmp_path, processes, canary_error_rate=1.0)
    spec = platform.access_log_source()  # type: ignore[attr-defined]
    source = AccessLogSource(spec.target, spec.parse, spec.variant_of)
    try:
        await platform.ensure_stable()
        await source.start()
        await platform.set_route(50.0)
        await applied(platform)
        before = stable.count(), canary.count()
        await served(url, 40)
        at_stable, at_canary = stable.count() - before[0], canary.count() - before[1]
        assert at_stable > 5 and at_canary > 5
        for _ in range(100):
            window = source.window(cut=False)
            if window.control.requests + window.canary.requests >= 40:
                break
            await asyncio.sleep(0.02)
        window = source.window(cut=True)
        assert (window.control.requests, window.control.errors) == (at_stable, 0)
        assert (window.canary.requests, window.canary.errors) == (at_canary, at_canary)
        assert window.canary.status == {"5xx": at_canary} and window.control.latency.count == at_stable
        assert source.window(cut=True).control.requests == 0  # the cut started a new window
        # the same log read back as the stable version's history (a baseline): nginx's lines carry their time,
        # HAProxy's format has none and it logs to a socket, so it has no history
        now = time.time()
        history = await source.history(start=now - 600, end=now + 1, interval=601)
        if kind == "nginx":
            assert [(w.requests, w.errors) for w in history] == [(at_stable, 0)]
        else:
            assert history == []
    finally:
        await source.close()
        await platform.close()


async def test_broken_nginx_config_is_a_clear_error_and_old_weights_stay(tmp_path: Path,
                                                                         processes: Processes) -> None:
    platform, url, _stable, _canary = await make("nginx", tmp_path, processes)
    assert isinstance(platform, NginxPlatform)
    try:
        await platform.ensure_stable()
        await platform.set_route(50.0)
        await applied(platform)
        conf = tmp_path / "nginx" / "nginx.conf"
        conf.write_text(conf.read_text().replace("events {", "evnts {"))
        with pytest.raises(Exception, match=r"nginx rejected the configuration, previous routing kept: .*evnts"):
            await platform.set_route(5.0)
        status = await platform.verify_route()
        assert status.state == "applied" and status.weight == 50.0
        assert await served(url, 10) == Counter({"stable": 5, "canary": 5})
        checks = {c.name: c for c in await platform.checks()}
        assert not checks["nginx: configuration"].ok and "evnts" in checks["nginx: configuration"].detail
    finally:
        await platform.close()


async def test_nginx_check_names_the_missing_include(tmp_path: Path, processes: Processes) -> None:
    platform, _url, _stable, _canary = await make("nginx", tmp_path, processes)
    try:
        conf = tmp_path / "nginx" / "nginx.conf"
        conf.write_text(conf.read_text().replace("proxy_pass http://$canaria_app_upstream;",
                                                 "proxy_pass http://127.0.0.1:1;"))
        checks = {c.name: c for c in await platform.checks()}
        assert checks["nginx: include"].ok
        assert not checks["nginx: proxy_pass"].ok
        assert "proxy_pass http://$canaria_app_upstream;" in checks["nginx: proxy_pass"].detail
    finally:
        await platform.close()


async def test_haproxy_reapplies_weights_lost_on_a_reload(tmp_path: Path, processes: Processes) -> None:
    platform, _url, _stable, _canary = await make("haproxy", tmp_path, processes)
    assert isinstance(platform, HaproxyPlatform)
    try:
        await platform.set_route(10.0)
        await platform.api.set_weight("be_app", "canary", 0)  # what a reload without a state file does
        status = await platform.verify_route()
        assert status.state == "pending" and "re-applied" in status.detail
        assert (await platform.verify_route()).weight == 10.0
    finally:
        await platform.close()


async def test_canary_command_is_started_restarted_and_watched(tmp_path: Path, processes: Processes) -> None:
    stable = processes.origin("stable")
    port = free_port()
    canary = Origin("canary", port, processes.started[0])  # the address HAProxy's canary server points at
    proxy = start_haproxy(tmp_path, processes, stable, canary)
    data = haproxy_config(proxy, stable, canary, tmp_path)
    data["platform"]["canary"] = {"command": f"{sys.executable} {UPSTREAM_SCRIPT} {port} canary", "port": port,
                                  "startup_timeout": "10s"}
    platform = HaproxyPlatform(as_config(data), owned=True)
    try:
        await platform.start_canary()
        first = platform.pid_of("canary")
        assert first and await platform.canary_problem() is None
        assert "restarted" in await platform.restart("canary")
        second = platform.pid_of("canary")
        assert second and second != first
        assert (await platform.health("canary")).ok
        await platform.set_route(50.0)
        # round robin converges over some requests after a change from the config's 100/0 (HAProxy's words:
        # "certain LB algorithms require a certain amount of requests"); the split tests measure the share
        assert (await served(proxy.url, 40))["canary"] >= 1
        os.kill(second, signal.SIGKILL)
        for _ in range(100):
            if await platform.canary_problem():
                break
            await asyncio.sleep(0.05)
        assert "exited" in (await platform.canary_problem() or "")
    finally:
        await platform.shutdown()
        await platform.close()


async def test_nginx_pool_spreads_each_versions_share_over_its_servers(tmp_path: Path,
                                                                      processes: Processes) -> None:
    first, second, canary = processes.origin("stable"), processes.origin("stable2"), processes.origin("canary")
    nginx = start_nginx(tmp_path, processes, [first.address, second.address], [canary.address])
    data = nginx_config(nginx, first, canary, tmp_path)
    data["platform"]["stable"] = {"urls": [f"http://{first.address}", f"http://{second.address}"]}
    platform = NginxPlatform(as_config(data), owned=True)
    try:
        await platform.ensure_stable()
        await platform.set_route(10.0)
        status = await platform.verify_route()
        assert status.state == "applied" and status.weight == 10.0
        assert await served(nginx.url, 40) == Counter({"stable": 18, "stable2": 18, "canary": 4})
        assert (await platform.health("stable")).detail == "2 server(s) /health → 200"
    finally:
        await platform.close()
