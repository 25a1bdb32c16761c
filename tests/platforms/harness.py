"""What the platform contract suite needs from each backend's test set-up, and the set-ups themselves.

A harness starts a real (or, where none can run here, emulated) data plane with two versions, `v1` as stable and
`v2` as canary, and observes it *independently of the backend under test*: `served_share()` counts which version
answered real requests (or reads the emulated object the data plane would apply), `break_writes()` makes the next
route write fail the way it fails for users. Backends add a factory to `HARNESSES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from canaria.config import CanariaConfig, parse_config
from canaria.platforms import create_platform
from canaria.platforms.base import Platform, TesterMatch
from canaria.platforms.processes import free_port


class Harness(Protocol):
    platform: Platform

    async def served_share(self, *, requests: int = 200, match: TesterMatch | None = None) -> float:
        """Canary share (percent) of what the data plane serves now, observed from outside the backend."""

    def break_writes(self) -> contextlib.AbstractContextManager[None]:
        """While open, a route write fails as it would for a user (bad reload, refused token, 409...)."""

    def version_of(self, variant: str) -> str:
        """The version label (v1/v2) of what runs as `variant` right now, observed from outside."""


HarnessFactory = Callable[[Path], contextlib.AbstractAsyncContextManager[Harness]]
HARNESSES: dict[str, HarnessFactory] = {}


def harness(kind: str) -> Callable[[HarnessFactory], HarnessFactory]:
    def register(factory: HarnessFactory) -> HarnessFactory:
        HARNESSES[kind] = factory
        return factory

    return register


# ------------------------------------------------------------------ local: the embedded gateway, real processes
LOCAL = """
service: ion-api
state_dir: {state}
platform:
  stable: {{command: "{service} --port {p1} --version v1", port: {p1}}}
  canary: {{command: "{service} --port {p2} --version v2", port: {p2}}}
  verify_timeout: 5s
gateway: {{listen: "127.0.0.1:{p3}", admin_listen: "127.0.0.1:{p4}", admin_token: contract-token-1}}
"""


@dataclass
class LocalHarness:
    platform: Platform
    config: CanariaConfig
    public: str

    async def served_share(self, *, requests: int = 200, match: TesterMatch | None = None) -> float:
        headers, cookies = {}, {}
        if match is not None and match.header:
            headers[match.header] = match.value
        if match is not None and match.cookie:
            cookies[match.cookie] = match.value
        versions = await _versions(self.public, requests, headers=headers, cookies=cookies)
        return 100.0 * versions.get("v2", 0) / max(1, sum(versions.values()))

    @contextlib.contextmanager
    def break_writes(self) -> Iterator[None]:
        client: Any = self.platform.gateway  # type: ignore[attr-defined]
        good = dict(client._client.headers)
        client._client.headers["Authorization"] = "Bearer wrong-token-for-the-test"
        try:
            yield
        finally:
            client._client.headers.clear()
            client._client.headers.update(good)

    def version_of(self, variant: str) -> str:
        url = self.platform.upstream_url(variant)  # type: ignore[arg-type]
        assert url
        return str(httpx.get(url + "/health", timeout=3).json()["version"])


async def _versions(base: str, n: int, *, headers: dict[str, str], cookies: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=5, headers=headers, cookies=cookies) as client:
        sem = asyncio.Semaphore(16)

        async def one() -> None:
            async with sem:
                response = await client.get("/health")
            version = str(response.json().get("version"))
            counts[version] = counts.get(version, 0) + 1

        await asyncio.gather(*(one() for _ in range(n)))
    return counts


@harness("local")
@contextlib.asynccontextmanager
async def local_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    ports = [free_port() for _ in range(4)]
    service = f"{sys.executable} -m canaria.demo.service --host 127.0.0.1"
    config = parse_config(LOCAL.format(state=tmp_path / "state", service=service, p1=ports[0], p2=ports[1],
                                       p3=ports[2], p4=ports[3]))
    platform = create_platform(config, owned=True)
    try:
        await platform.ensure_stable()
        await platform.start_canary()
        yield LocalHarness(platform, config, f"http://127.0.0.1:{ports[2]}")
    finally:
        await platform.shutdown()
        await platform.close()


# ------------------------------------------------------------------ the other backends register themselves
from tests.platforms import (  # noqa: E402
    harness_cloudrun,  # noqa: F401  (Cloud Run: Google's client against the local fake)
    harness_kubernetes,  # noqa: F401  (Kubernetes: the API emulator)
    harness_proxies,  # noqa: F401  (nginx and HAProxy: real proxies in temp dirs)
)
