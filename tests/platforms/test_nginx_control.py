"""NginxControl against a real nginx in a temp dir: reload, read back what the workers serve, refuse and
restore on a failed `nginx -t`."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from canaria.errors import PlatformError
from canaria.platforms.nginx_conf import NginxRoute, render_include, status_path
from canaria.platforms.nginx_control import NginxControl
from canaria.platforms.nginx_dump import REQUIRED_LOG_FIELDS, parse_dump

from .proxy_fixtures import Nginx, Processes, processes, start_nginx

__all__ = ["processes"]


def control_for(nginx: Nginx) -> NginxControl:
    return NginxControl(nginx.include, test_command=nginx.test_command, reload_command=nginx.reload_command,
                        dump_command=nginx.dump_command,
                        status_url=f"http://{nginx.status_listen}{status_path('app')}")


async def wait_generation(control: NginxControl, generation: int) -> dict[str, object]:
    for _ in range(200):
        loaded = await control.loaded()
        if loaded and loaded["generation"] == generation:
            return loaded
        await asyncio.sleep(0.02)
    raise AssertionError(f"generation {generation} never loaded: {await control.loaded()}")


async def served(url: str, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
    async with httpx.AsyncClient(trust_env=False) as client:
        return Counter([(await client.get(url, headers=headers)).text for _ in range(n)])


async def test_reload_applies_weights_and_tester_route(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    nginx = start_nginx(tmp_path, processes, [stable.address], [canary.address])
    control = control_for(nginx)
    try:
        assert (await wait_generation(control, 0))["weight"] == 0.0
        assert await served(nginx.url, 20) == Counter({"stable": 20})
        route = NginxRoute("app", (stable.address,), (canary.address,), 0.0, 1, nginx.status_listen,
                           header="X-Canary", value="always")
        await control.apply(render_include(route))
        loaded = await wait_generation(control, 1)
        assert loaded["match"] == {"header": "X-Canary", "cookie": None, "value": "always"}
        assert await served(nginx.url, 10, {"X-Canary": "always"}) == Counter({"canary": 10})
        assert await served(nginx.url, 10, {"X-Canary": "other"}) == Counter({"stable": 10})
        await control.apply(render_include(NginxRoute("app", (stable.address,), (canary.address,), 50.0, 2,
                                                      nginx.status_listen)))
        await wait_generation(control, 2)
        assert await served(nginx.url, 20) == Counter({"stable": 10, "canary": 10})
        dump = parse_dump(await control.dump())
        assert dump.includes(str(nginx.include))
        assert dump.uses_upstream("http://$canaria_app_upstream", outside=str(nginx.include))
        fmt = dump.format_of(str(nginx.access_log))
        assert fmt is not None and all(field in fmt for field in REQUIRED_LOG_FIELDS)
    finally:
        await control.close()


async def test_broken_user_config_keeps_previous_weights_and_says_why(tmp_path: Path,
                                                                      processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    nginx = start_nginx(tmp_path, processes, [stable.address], [canary.address])
    control = control_for(nginx)
    try:
        await wait_generation(control, 0)
        before = nginx.include.read_text()
        nginx.conf.write_text(nginx.conf.read_text().replace("worker_processes 1;", "worker_processes 1;\nbogus on;"))
        with pytest.raises(PlatformError) as error:
            await control.apply(render_include(NginxRoute("app", (stable.address,), (canary.address,), 50.0, 1,
                                                          nginx.status_listen)))
        assert 'unknown directive "bogus"' in str(error.value) and "previous routing kept" in str(error.value)
        assert nginx.include.read_text() == before
        assert (await control.loaded() or {})["generation"] == 0
        assert await served(nginx.url, 10) == Counter({"stable": 10})
    finally:
        await control.close()
