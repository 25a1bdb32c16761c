"""The load generator keeps to its bounds, sends the realistic mix, and only ever targets loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import canaria
from canaria.demo.load import REQUEST_MIX, LoadStats, ensure_loopback, generate_load

PATH_OF_KIND = {
    "recommendations": "/api/v2/recommendations",
    "chat": "/api/v2/chat",
    "health": "/health",
    "health_detailed": "/health/detailed",
}


async def test_duration_bounds_a_real_run_at_the_target_rate(stable_service) -> None:
    started = time.perf_counter()
    stats = await generate_load(stable_service.url, rps=100, duration_s=1.0, max_requests=10_000, seed=1)
    wall = time.perf_counter() - started

    # the bounds are exact (never more than rps x duration + 1, never past the duration plus the drain); the
    # rate is loose, because on a loaded 2-core machine the service and the client share the CPU with the suite
    assert 80 <= stats.sent <= 101
    assert stats.ok == stats.sent and stats.failed == 0
    assert sum(stats.by_status.values()) == stats.sent and set(stats.by_status) == {200}
    assert sum(stats.by_kind.values()) == stats.sent
    assert 1.0 <= stats.elapsed_s < 2.0 and wall < 3.0
    assert stats.sending_s == pytest.approx(1.0, abs=0.15)
    assert stats.achieved_rps == pytest.approx(100, rel=0.2)
    assert stats.latency.count == stats.sent
    assert stats.by_variant == {}  # the service itself sets no variant header; the gateway does


async def test_max_requests_bounds_a_real_run(stable_service) -> None:
    stats = await generate_load(stable_service.url, rps=500, duration_s=10.0, max_requests=25, seed=2)
    assert stats.sent == 25 and stats.ok == 25
    assert stats.elapsed_s < 1.0  # 25 requests at 500 rps take ~50 ms, not the 10 s allowed


async def test_stop_event_ends_a_real_run_early(stable_service) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)
    stats = await generate_load(stable_service.url, rps=100, duration_s=10.0, max_requests=10_000, stop=stop)
    assert 20 <= stats.sent <= 35
    assert stats.elapsed_s < 1.0


async def test_open_loop_pacing_keeps_rate_against_a_slow_server() -> None:
    """A closed loop of 4 workers would manage 4 / 0.1 s = 40 rps; open-loop holds the 100 rps target."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.1)
        return httpx.Response(200)

    stats = await generate_load(
        "http://127.0.0.1:9",
        rps=100,
        duration_s=0.5,
        max_requests=1000,
        concurrency=32,
        transport=httpx.MockTransport(slow),
    )
    assert 45 <= stats.sent <= 51
    assert stats.ok == stats.sent
    assert stats.achieved_rps == pytest.approx(100, rel=0.1)  # draining the last answers does not count
    assert stats.elapsed_s >= stats.sending_s + 0.09


async def test_busy_slots_drop_the_backlog_instead_of_bursting() -> None:
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return httpx.Response(200)

    stats = await generate_load(
        "http://127.0.0.1:9",
        rps=200,
        duration_s=0.6,
        max_requests=1000,
        concurrency=4,
        transport=httpx.MockTransport(slow),
    )
    assert peak <= 4
    # 4 slots x 0.6 s / 0.2 s per request = 12, plus the first wave; far below the 120 scheduled
    assert 10 <= stats.sent <= 20


async def test_mix_users_and_variants() -> None:
    seen_paths: dict[str, int] = {}
    users: set[str] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        seen_paths[request.url.path] = seen_paths.get(request.url.path, 0) + 1
        users.add(request.headers["X-User-Id"])
        if request.url.path == "/api/v2/chat":
            assert json.loads(request.content)["message"]
        variant = "canary" if len(users) % 10 == 0 else "stable"
        status = 503 if request.url.path == "/health/detailed" else 200
        return httpx.Response(status, headers={"X-Canaria-Variant": variant})

    stats = await generate_load(
        "http://localhost:8000",
        rps=50_000,
        duration_s=5.0,
        max_requests=2000,
        users=50,
        seed=3,
        transport=httpx.MockTransport(answer),
    )
    assert stats.sent == 2000
    for kind, weight in REQUEST_MIX:
        share = seen_paths[PATH_OF_KIND[kind]] / stats.sent
        assert share == pytest.approx(weight / 100, abs=0.04), kind
        assert stats.by_kind[kind] == seen_paths[PATH_OF_KIND[kind]]
    assert len(users) == 50
    assert sum(stats.by_variant.values()) == 2000 and set(stats.by_variant) == {"stable", "canary"}
    assert stats.failed == stats.by_status[503] == seen_paths["/health/detailed"]
    assert stats.ok == stats.sent - stats.failed


async def test_transport_errors_count_as_failed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    stats = await generate_load(
        "http://127.0.0.1:9", rps=1000, duration_s=1.0, max_requests=20, transport=httpx.MockTransport(refuse)
    )
    assert stats.sent == stats.failed == stats.errors["ConnectError"] == 20
    assert stats.ok == 0 and stats.by_status == {}


async def test_requests_past_the_drain_grace_are_cancelled_and_failed() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    stats = await generate_load(
        "http://127.0.0.1:9",
        rps=100,
        duration_s=0.1,
        max_requests=5,
        drain_s=0.1,
        transport=httpx.MockTransport(hang),
    )
    assert stats.sent == 5 and stats.errors == {"Cancelled": 5} and stats.failed == 5
    assert stats.elapsed_s < 1.0


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1:8000",
        "http://192.168.1.20",
        "https://8.8.8.8",
        "http://[2001:db8::1]:80",
        "http://0.0.0.0:8000",
        "http://[::ffff:10.0.0.1]:80",
        "ftp://127.0.0.1/",
        "not a url",
    ],
)
async def test_refuses_non_loopback_targets_before_sending(url: str) -> None:
    calls = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(200))
    with pytest.raises(ValueError):
        await generate_load(url, rps=10, duration_s=0.1, max_requests=1, transport=transport)
    assert calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000",
        "http://127.0.0.1:1",
        "http://127.8.9.10",
        "http://[::1]:8000",
        "http://[::ffff:127.0.0.1]:80",
        "https://LOCALHOST/",
    ],
)
async def test_accepts_loopback_targets(url: str) -> None:
    await ensure_loopback(url)


async def test_rejects_bad_bounds() -> None:
    for kwargs in ({"rps": 0}, {"rps": 10, "concurrency": 0}, {"rps": 10, "max_requests": -1}):
        arguments = {"rps": 10.0, "duration_s": 1.0, "max_requests": 1, **kwargs}
        with pytest.raises(ValueError):
            await generate_load("http://127.0.0.1:1", **arguments)


def test_stats_serialise_to_json() -> None:
    stats = LoadStats(sent=2, ok=1, failed=1, by_status={200: 1, 500: 1}, elapsed_s=0.9, sending_s=0.5)
    stats.latency.record(12.0)
    data = json.loads(json.dumps(stats.as_dict()))
    assert data["by_status"] == {"200": 1, "500": 1}
    assert data["achieved_rps"] == 4.0
    assert data["latency_ms"]["p50"] == pytest.approx(12.0, rel=0.05)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(canaria.__file__).resolve().parents[1])
    return subprocess.run(
        [sys.executable, "-m", "canaria.demo.load", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": src},
    )


def test_cli_prints_json_stats_last(stable_service) -> None:
    result = _run_cli(stable_service.url, "--rps", "50", "--duration", "0.5", "--max-requests", "10")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["sent"] == 10 and summary["ok"] == 10
    assert "sent 10" in result.stderr


def test_cli_refuses_a_remote_target() -> None:
    result = _run_cli("http://203.0.113.5:80", "--duration", "0.1")
    assert result.returncode == 2
    assert "refusing" in result.stderr
