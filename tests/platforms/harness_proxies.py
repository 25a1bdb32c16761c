"""Contract-suite harnesses for nginx and HAProxy: real proxies, demo-service versions canaria starts.

What the proxy serves is observed through its public port (which version answers /health), never through
the backend under test. `break_writes` fails a write the way it fails for users: on nginx the user's own
config is broken meanwhile (`nginx -t` refuses); on HAProxy the runtime API drops in the middle of a change,
after the first server's weight was set — the backend must put the previous weights back.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from canaria.errors import PlatformError
from canaria.platforms import create_platform
from canaria.platforms.base import Platform, TesterMatch
from canaria.platforms.haproxy import HaproxyPlatform
from canaria.platforms.processes import free_port
from tests.platforms.harness import Harness, _versions, harness
from tests.platforms.proxy_fixtures import (
    Processes,
    as_config,
    haproxy_config,
    nginx_config,
    start_haproxy,
    start_nginx,
    stop,
)

SERVICE = f"{sys.executable} -m canaria.demo.service --host 127.0.0.1"


def _versions_config(stable_port: int, canary_port: int) -> dict[str, Any]:
    return {"stable": {"command": f"{SERVICE} --port {stable_port} --version v1", "port": stable_port},
            "canary": {"command": f"{SERVICE} --port {canary_port} --version v2", "port": canary_port},
            "verify_timeout": "5s"}


@dataclass
class ProxyHarness:
    platform: Platform
    public: str
    conf: Path | None = None  # nginx: the user's config, broken by break_writes
    procs: Processes = field(default_factory=Processes)

    async def served_share(self, *, requests: int = 200, match: TesterMatch | None = None) -> float:
        headers = {match.header: match.value} if match is not None and match.header else {}
        cookies = {match.cookie: match.value} if match is not None and match.cookie else {}
        versions = await _versions(self.public, requests, headers=headers, cookies=cookies)
        return 100.0 * versions.get("v2", 0) / max(1, sum(versions.values()))

    @contextlib.contextmanager
    def break_writes(self) -> Iterator[None]:
        if self.conf is not None:
            good = self.conf.read_text()
            self.conf.write_text(good.replace("events {", "evnts {"))
            try:
                yield
            finally:
                self.conf.write_text(good)
            return
        assert isinstance(self.platform, HaproxyPlatform)
        api: Any = self.platform.api
        real = api.set_weights
        calls = {"n": 0}

        async def drops_after_the_first_server(backend: str, weights: list[tuple[str, int]]) -> None:
            calls["n"] += 1
            if calls["n"] == 1:  # the change itself: the first server is set, then the socket drops
                await real(backend, weights[:1])
                raise PlatformError(f"cannot reach the HAProxy runtime API at {api.address}: Connection reset")
            await real(backend, weights)

        api.set_weights = drops_after_the_first_server
        try:
            yield
        finally:
            api.set_weights = real

    def version_of(self, variant: str) -> str:
        url = self.platform.upstream_url(variant)  # type: ignore[arg-type]
        assert url
        return str(httpx.get(url + "/health", timeout=3).json()["version"])


@contextlib.asynccontextmanager
async def _running(h: ProxyHarness) -> AsyncIterator[Harness]:
    try:
        await h.platform.ensure_stable()
        await h.platform.start_canary()
        yield h
    finally:
        await h.platform.shutdown()
        await h.platform.close()
        for proc in reversed(h.procs.started):
            stop(proc)


@harness("nginx")
@contextlib.asynccontextmanager
async def nginx_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    procs = Processes()
    stable_port, canary_port = free_port(), free_port()
    try:
        nginx = start_nginx(tmp_path, procs, [f"127.0.0.1:{stable_port}"], [f"127.0.0.1:{canary_port}"])
    except BaseException:
        for proc in procs.started:
            stop(proc)
        raise
    data = nginx_config(nginx, None, None, tmp_path)
    data["platform"].update(_versions_config(stable_port, canary_port))
    platform = create_platform(as_config(data), owned=True)
    async with _running(ProxyHarness(platform, nginx.url, conf=nginx.conf, procs=procs)) as h:
        yield h


@harness("haproxy")
@contextlib.asynccontextmanager
async def haproxy_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    procs = Processes()
    stable_port, canary_port = free_port(), free_port()
    try:
        proxy = start_haproxy(tmp_path, procs, stable_port, canary_port)
    except BaseException:
        for proc in procs.started:
            stop(proc)
        raise
    data = haproxy_config(proxy, None, None, tmp_path)
    data["platform"].update(_versions_config(stable_port, canary_port))
    platform = create_platform(as_config(data), owned=True)
    async with _running(ProxyHarness(platform, proxy.url, procs=procs)) as h:
        yield h
