"""Fault modes do what they claim, on /api/v2/* only, and the memory leak really grows RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import canaria
from canaria.demo._faults import FaultSettings, MemoryLeak
from canaria.demo.service import create_app

MB = 2**20


def _client(service) -> httpx.Client:
    # trust_env=False: an HTTP(S)_PROXY in the environment must not intercept loopback calls
    return httpx.Client(base_url=service.url, trust_env=False)


async def test_errors_fault_fails_about_a_fifth_of_api_calls(client_for) -> None:
    app = create_app("v2", "errors", seed=20251022, env={})
    async with client_for(app) as client:
        statuses = [
            (await client.get("/api/v2/recommendations", params={"user_id": f"u{i}"})).status_code
            for i in range(500)
        ]
        health = [
            (await client.get(path)).status_code
            for path in ("/health", "/health/detailed")
            for _ in range(50)
        ]
        failed = await client.get("/api/v2/recommendations")
        while failed.status_code != 500:
            failed = await client.get("/api/v2/recommendations")
        metrics = (await client.get("/metrics")).text

    error_rate = statuses.count(500) / len(statuses)
    assert 0.15 <= error_rate <= 0.25
    assert set(statuses) == {200, 500}
    assert set(health) == {200}  # health stays green, as in real incidents
    assert failed.json() == {"detail": "internal server error"}
    assert 'path="/api/v2/recommendations",status="500",version="v2"' in metrics


async def test_error_rate_comes_from_the_environment(client_for) -> None:
    app = create_app("v2", "errors", seed=1, env={"CANARIA_DEMO_ERROR_RATE": "0.5"})
    async with client_for(app) as client:
        statuses = [
            (await client.post("/api/v2/chat", json={"message": "hi"})).status_code for _ in range(300)
        ]
    assert 0.42 <= statuses.count(500) / len(statuses) <= 0.58


async def test_latency_fault_slows_api_calls_but_not_health(client_for) -> None:
    app = create_app("v2", "latency", env={"CANARIA_DEMO_EXTRA_LATENCY_MS": "300"})
    async with client_for(app) as client:
        for _ in range(2):
            start = time.perf_counter()
            response = await client.get("/api/v2/recommendations", params={"user_id": "slow"})
            elapsed_ms = (time.perf_counter() - start) * 1000
            assert response.status_code == 200
            assert elapsed_ms >= 300
            # the engine owns the regression, as in the runbook's "추천 엔진 지연" panel
            assert response.json()["engine_latency_ms"] >= 300
        start = time.perf_counter()
        assert (await client.post("/api/v2/chat", json={"message": "hello"})).status_code == 200
        assert (time.perf_counter() - start) * 1000 >= 300
        start = time.perf_counter()
        assert (await client.get("/health")).status_code == 200
        assert (time.perf_counter() - start) * 1000 < 100
        metrics = (await client.get("/metrics")).text
    # the 2 slow calls land in buckets above 0.3 s, none below
    assert 'recommendation_engine_latency_seconds_bucket{le="0.25",version="v2"} 0.0' in metrics


def test_default_fault_strengths_match_the_brief() -> None:
    settings = FaultSettings.resolve("latency", {})
    assert settings.extra_latency_ms == 650 and settings.error_rate == 0.2 and settings.leak_mb_per_s == 4
    with pytest.raises(ValueError):
        FaultSettings.resolve("errors", {"CANARIA_DEMO_ERROR_RATE": "1.5"})
    with pytest.raises(ValueError):
        FaultSettings.resolve("errors", {"CANARIA_DEMO_ERROR_RATE": "often"})


def test_leak_follows_uptime_and_stops_at_the_cap() -> None:
    now = [100.0]
    leak = MemoryLeak(4.0, 10.0, started_at=100.0, clock=lambda: now[0])
    assert leak.top_up() == 0
    now[0] = 101.5
    assert leak.top_up() == 6 * MB and leak.leaked_bytes == 6 * MB
    now[0] = 160.0
    leak.top_up()
    assert leak.leaked_bytes == 10 * MB  # capped, however long it runs
    leak.release()
    assert leak.leaked_bytes == 0


def test_leak_cap_can_never_exceed_the_safety_maximum() -> None:
    settings = FaultSettings.resolve("memory-leak", {"CANARIA_DEMO_LEAK_CAP_MB": "999999"})
    assert settings.leak_cap_mb == 1536
    leak = MemoryLeak(1000.0, settings.leak_cap_mb, started_at=0.0, clock=lambda: 0.0)
    assert leak.cap_bytes <= 1536 * MB


def test_memory_leak_grows_rss_of_the_real_service(service_factory) -> None:
    env = {"CANARIA_DEMO_LEAK_MB_PER_S": "60", "CANARIA_MEMORY_LIMIT": "2Gi"}
    with (
        service_factory("--version", "v2", "--fault", "memory-leak", env=env) as service,
        _client(service) as client,
    ):
        before = client.get("/health/detailed").json()
        time.sleep(1.5)
        after = client.get("/health/detailed").json()
        assert client.get("/health").status_code == 200
        metrics = client.get("/metrics").text

    grown = after["memory"]["rss_bytes"] - before["memory"]["rss_bytes"]
    assert grown >= 50 * MB, f"RSS grew only {grown / MB:.1f} MB"
    assert after["memory"]["percent"] > before["memory"]["percent"]
    assert after["memory"]["leaked_bytes"] > before["memory"]["leaked_bytes"]
    assert after["fault"] == "memory-leak"
    assert "canaria_demo_leaked_bytes" in metrics


def test_service_starts_fast_and_reports_its_version(service_factory) -> None:
    with (
        service_factory("--version", "v2", env={"CANARIA_DEMO_FAULT": "errors"}) as service,
        _client(service) as client,
    ):
        detailed = client.get("/health/detailed").json()
    assert service.startup_s < 2.5
    assert detailed["version"] == "v2"
    assert detailed["fault"] == "errors"  # from the environment, since no --fault flag was given


def test_cli_flags_override_the_environment(service_factory) -> None:
    env = {"CANARIA_DEMO_FAULT": "errors", "CANARIA_DEMO_VERSION": "v2"}
    with service_factory("--fault", "none", env=env) as service, _client(service) as client:
        detailed = client.get("/health/detailed").json()
    assert (detailed["version"], detailed["fault"]) == ("v2", "none")


def test_cli_rejects_a_bad_fault() -> None:
    src = str(Path(canaria.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-m", "canaria.demo.service", "--fault", "explode"],
        check=False,
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": src},
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
