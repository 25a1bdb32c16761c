"""Fixtures: two fake origins and a gateway factory, all on 127.0.0.1 ports picked by the OS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from canaria.gateway import Gateway

from .fakes import FakeUpstream, make_config

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

GatewayFactory = Callable[..., Awaitable[Gateway]]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    """Run every async gateway test on the stdlib loop and on uvloop (what run_gateway uses)."""
    factories: dict[str, Callable[[], Any]] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories


@pytest.fixture
async def stable() -> AsyncIterator[FakeUpstream]:
    upstream = await FakeUpstream("stable").start()
    yield upstream
    await upstream.stop()


@pytest.fixture
async def canary() -> AsyncIterator[FakeUpstream]:
    upstream = await FakeUpstream("canary").start()
    yield upstream
    await upstream.stop()


@pytest.fixture
async def make_gateway(
    tmp_path: Path, stable: FakeUpstream, canary: FakeUpstream
) -> AsyncIterator[GatewayFactory]:
    """Start a Gateway in this event loop; every one started is stopped at the end of the test."""
    started: list[Gateway] = []

    async def factory(
        *,
        stable_url: str | None = None,
        canary_url: str | None = None,
        state_dir: Path | None = None,
        gateway_kwargs: dict[str, Any] | None = None,
        **gateway_config: Any,
    ) -> Gateway:
        config = make_config(
            str(state_dir or tmp_path / "state"),
            stable_url or stable.url,
            canary_url or canary.url,
            **gateway_config,
        )
        gateway = Gateway(config, drain_timeout=5.0, **(gateway_kwargs or {}))
        await gateway.start()
        started.append(gateway)
        return gateway

    yield factory
    for gateway in started:
        await gateway.stop()


def admin(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.admin_port}", timeout=5.0)


def public(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.public_port}", timeout=5.0)
