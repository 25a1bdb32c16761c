"""The cloud-monitoring provider through google-cloud-monitoring (gRPC) against the fake's Monitoring API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from canaria.config import parse_config
from canaria.errors import ConfigError, MetricsError
from canaria.metrics.cloud_monitoring import CloudMonitoringProvider
from canaria.platforms.cloudrun import CloudRunPlatform
from tests.emulators.cloudrun import ApiError, CloudRunEmulator, ImageBehaviour
from tests.platforms.cloudrun_harness import CANARY_IMAGE, cloudrun_data, fake

__all__ = ["fake"]


@pytest.fixture
async def provider(fake: CloudRunEmulator, tmp_path: Path) -> AsyncIterator[CloudMonitoringProvider]:
    fake.model.images[CANARY_IMAGE] = ImageBehaviour(error_rate=0.3, latency_ms=200, memory=0.9)
    config = parse_config(yaml.safe_dump(cloudrun_data(fake, tmp_path / "state")))
    platform = CloudRunPlatform(config)
    await platform.start_canary()
    await platform.set_route(50)
    monitoring = CloudMonitoringProvider(config, platform)
    yield monitoring
    await monitoring.close()
    await platform.close()


async def test_complete_windows_per_revision(fake: CloudRunEmulator, provider: CloudMonitoringProvider) -> None:
    start = time.time()
    await asyncio.sleep(3.2)  # 0.5 s samples, 1 s ingestion delay: about two seconds are complete
    window = await provider.read_window(start=start, end=time.time(), stage_index=0, canary_weight=50)
    assert window.end <= time.time() - 1 and window.end - window.start >= 1
    control, canary = window.control, window.canary
    assert control.requests > 0 and canary.requests > 0 and control.errors == 0
    assert 0.1 < canary.errors / canary.requests < 0.5 and canary.status["5xx"] == canary.errors
    assert canary.p95_ms is not None and control.p95_ms is not None and canary.p95_ms > 2 * control.p95_ms
    assert canary.memory_pct is not None and 85 < canary.memory_pct <= 93
    assert control.memory_pct is not None and control.memory_pct < 40
    assert control.cpu_pct is not None
    follow = await provider.read_window(start=window.end, end=time.time(), stage_index=0, canary_weight=50)
    assert follow.start >= window.end  # the next window starts where the last ended: nothing counted twice


async def test_a_late_window_is_no_data_never_zero_traffic(fake: CloudRunEmulator,
                                                         provider: CloudMonitoringProvider) -> None:
    fake.store.ingestion_delay = 60.0  # Monitoring has not delivered anything yet
    provider.settings = provider.settings.model_copy(update={"ingestion_delay": 0.0})  # canaria expects it sooner
    now = time.time()
    window = await provider.read_window(start=now - 2, end=now, stage_index=0, canary_weight=50)
    assert window.control.requests == 0 and window.canary.requests == 0  # no data: the judge holds
    provider.settings = provider.settings.model_copy(update={"ingestion_delay": 60.0})
    early = await provider.read_window(start=now - 2, end=now, stage_index=0, canary_weight=50)
    assert early.end == early.start == now - 2  # nothing complete: a zero-length window, read again later


async def test_monitoring_errors_are_metrics_errors(fake: CloudRunEmulator, provider: CloudMonitoringProvider
                                                    ) -> None:
    fake.permissions.discard("monitoring.timeSeries.list")
    now = time.time()
    with pytest.raises(MetricsError, match=r"Cloud Monitoring: reading .* 403 PERMISSION_DENIED .*monitoring.viewer"):
        await provider.read_window(start=now - 10, end=now, stage_index=0, canary_weight=50)
    fake.permissions.add("monitoring.timeSeries.list")
    fake.fail_next("projects.timeSeries.list", ApiError("RESOURCE_EXHAUSTED", "Quota exceeded for quota metric "
                                                        "'Time series queries'.", domain="monitoring.googleapis.com"))
    with pytest.raises(MetricsError, match="429 RESOURCE_EXHAUSTED: Quota exceeded"):
        await provider.read_window(start=now - 10, end=now, stage_index=0, canary_weight=50)
    await asyncio.sleep(1.1)  # at least two 0.5 s samples written
    checks = await provider.check()
    assert [c.ok for c in checks] == [True, True] and "requests in the last hour" in checks[1].detail


def test_an_interval_shorter_than_the_alignment_is_refused(fake: CloudRunEmulator, tmp_path: Path) -> None:
    data = cloudrun_data(fake, tmp_path / "state")
    data["metrics"]["cloud_monitoring"]["alignment_period"] = "60s"
    data["analysis"] = {"interval": "10s"}
    with pytest.raises(ConfigError, match="shorter than metrics.cloud_monitoring.alignment_period"):
        CloudMonitoringProvider(parse_config(yaml.safe_dump(data)))


def test_init_template_for_cloud_run_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import resources

    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    text = resources.files("canaria").joinpath("templates/init-cloudrun.yaml").read_text()
    config = parse_config(text)
    assert config.platform.kind == "cloudrun" and config.metrics.provider == "cloud-monitoring"
    assert config.metrics.cloud_monitoring is not None
    assert config.analysis.interval >= config.metrics.cloud_monitoring.alignment_period
    assert config.analysis.interval >= config.metrics.cloud_monitoring.ingestion_delay


async def test_the_stable_revisions_past_windows_are_its_own_counts(fake: CloudRunEmulator,
                                                                   provider: CloudMonitoringProvider) -> None:
    """An hour of minute points written before the rollout: 5-minute windows hold exactly their five minutes."""
    from tests.emulators.cloudrun.timeseries import Point, Series, exponential

    info = await provider.platform.describe()  # type: ignore[union-attr]
    stable, canary = info["stable"].revision, info["canary"].revision
    assert stable and canary and stable != canary
    end = (time.time() // 300) * 300 - 600  # well before anything the traffic generator writes
    start = end - 3600

    def write(revision: str, at: float, requests: int, errors: int) -> None:
        resource = {"project_id": "my-project", "location": "asia-northeast3", "service_name": "ion-api",
                    "revision_name": revision, "configuration_name": "ion-api"}
        for code, code_class, count in (("200", "2xx", requests - errors), ("503", "5xx", errors)):
            labels = {"response_code": code, "response_code_class": code_class, "route_type": "default"}
            fake.store.write(Series("run.googleapis.com/request_count", labels, "cloud_run_revision", resource,
                                    "DELTA", "INT64", "1"), Point(at - 60, at, count))
            latencies = exponential(num_finite=64, growth=1.2, scale=1.0)
            for i in range(count):
                latencies.record(40.0 + i % 50)
            fake.store.write(Series("run.googleapis.com/request_latencies", labels, "cloud_run_revision", resource,
                                    "DELTA", "DISTRIBUTION", "ms"), Point(at - 60, at, latencies))

    expected: dict[float, tuple[int, int]] = {}
    for minute in range(60):
        if 20 <= minute < 30:
            continue  # ten quiet minutes: windows 5 and 6 have no stable requests and are left out
        at = start + 60 * (minute + 1)
        requests, errors = 100 + minute, 3 if minute % 7 == 0 else 0
        write(stable, at, requests, errors)
        write(canary, at, 50, 50)  # a revision that is not the stable one is never counted
        window_end = start + 300 * (minute // 5 + 1)
        total, failed = expected.get(window_end, (0, 0))
        expected[window_end] = (total + requests, failed + errors)

    windows = await provider.read_baseline(start=start, end=end, interval=300)
    assert [(w.requests, w.errors) for w in windows] == [expected[t] for t in sorted(expected)]
    assert len(windows) == 10
    for window in windows:
        assert window.latency.count == window.requests and window.status.get("5xx", 0) == window.errors
        assert window.status["2xx"] == window.requests - window.errors
        assert window.p50_ms is not None and 40 <= window.p50_ms <= 95
    assert await provider.read_baseline(start=end - 200, end=end, interval=300) == []  # shorter than a window
