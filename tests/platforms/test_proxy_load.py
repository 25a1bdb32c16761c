"""Under load (wrk -c 32, loopback, bounded): 100 weight changes on each proxy with no failed request,
and the split measured at the upstreams within binomial tolerance of the weight."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from canaria.platforms.base import Platform

from .proxy_fixtures import (
    Origin,
    Processes,
    haproxy_platform,
    nginx_platform,
    processes,
    run_wrk,
    start_haproxy,
    start_nginx,
    within_binomial,
)

__all__ = ["processes"]


async def make(kind: str, tmp_path: Path, procs: Processes) -> tuple[Platform, str, Origin, Origin]:
    stable, canary = procs.origin("stable"), procs.origin("canary")
    if kind == "nginx":
        nginx = start_nginx(tmp_path, procs, [stable.address], [canary.address])
        platform: Platform = nginx_platform(nginx, stable, canary, tmp_path)
        url = nginx.url
    else:
        proxy = start_haproxy(tmp_path, procs, stable, canary)
        platform = haproxy_platform(proxy, stable, canary, tmp_path)
        url = proxy.url
    await platform.ensure_stable()
    await platform.start_canary()
    return platform, url, stable, canary


async def wait_applied(platform: Platform) -> None:
    for _ in range(200):
        if (await platform.verify_route()).state == "applied":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never applied: {await platform.verify_route()}")


@pytest.mark.parametrize("kind", ["nginx", "haproxy"])
async def test_hundred_weight_changes_under_load_fail_no_request(kind: str, tmp_path: Path,
                                                                 processes: Processes) -> None:
    platform, url, stable, canary = await make(kind, tmp_path, processes)
    try:
        done = asyncio.Event()
        # nginx closes idle keep-alive client connections on every reload (clients that reuse a connection
        # retry; wrk counts a read error): a new connection per request is never refused, reload or not
        load = asyncio.create_task(run_wrk(url + "/", 90, stop=done, close_connections=kind == "nginx"))
        await asyncio.sleep(0.5)
        weights = [5.0, 10.0, 50.0, 25.0, 0.0, 100.0, 1.0, 75.0, 33.0, 0.0]
        for i in range(100):
            await platform.set_route(weights[i % len(weights)])
        await wait_applied(platform)
        assert (await platform.verify_route()).weight == 0.0
        changed_while_loaded = not load.done()
        await asyncio.sleep(0.3)
        done.set()
        result = await load
        print(f"{kind}: 100 weight changes under wrk -c32: {result.requests} requests, {result.failed} failed")
        assert changed_while_loaded, "the weight changes outlasted the load; lengthen the wrk run"
        assert result.requests > 1000, result.output
        assert result.failed == 0, result.output
    finally:
        await platform.close()


@pytest.mark.parametrize("kind", ["nginx", "haproxy"])
async def test_split_at_the_upstreams_matches_the_weight(kind: str, tmp_path: Path, processes: Processes) -> None:
    platform, url, stable, canary = await make(kind, tmp_path, processes)
    try:
        for percent in (5.0, 10.0, 50.0):
            await platform.set_route(percent)
            await wait_applied(platform)
            status = await platform.verify_route()
            assert status.weight == pytest.approx(percent, abs=0.01)
            before = stable.count(), canary.count()
            result = await run_wrk(url + "/", 1, connections=8, threads=1)
            served_stable, served_canary = stable.count() - before[0], canary.count() - before[1]
            total = served_stable + served_canary
            assert result.failed == 0 and total > 500, result.output
            assert within_binomial(served_canary, total, percent), (percent, served_canary, total)
    finally:
        await platform.close()
