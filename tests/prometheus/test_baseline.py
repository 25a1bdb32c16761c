"""The Prometheus provider's pre-canary baseline against a REAL Prometheus holding six hours of history.

The history is written with `promtool tsdb create-blocks-from openmetrics` (what an operator's Prometheus would
have scraped every 15 s before the rollout): the stable and the canary version's request counters and latency
buckets, with a rate that changes only at the 5-minute window edges, so each window's `increase` is exactly what
was served in it (on Prometheus 2.x, whose ranges include their left edge, and on 3.x, which extrapolates the
missing 15 s at the same rate). Quiet windows serve nothing and must be left out.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import yaml

from canaria.config import CanariaConfig, parse_config
from canaria.foundation.histogram import LatencyHistogram
from canaria.metrics import prometheus_api
from canaria.metrics.prometheus import PrometheusMetricsProvider
from tests.conftest import require_binary
from tests.prometheus.harness import Prometheus

pytestmark = pytest.mark.integration

WINDOW, SCRAPE = 300, 15
PER_WINDOW = WINDOW // SCRAPE  # samples (and increments) per window
BOUNDS = ("0.1", "0.25", "0.5", "+Inf")
QUIET = {30, 31, 32}  # windows in which the stable version served nothing (a night, a maintenance)


@dataclass(frozen=True)
class Served:
    """What one version served per 15 s in window k: requests, failures, and how many were fast / slow."""

    requests: int
    errors: int
    buckets: tuple[int, int, int, int]  # cumulative counts per BOUNDS


def served(variant: str, k: int) -> Served:
    if variant == "stable" and k in QUIET:
        return Served(0, 0, (0, 0, 0, 0))
    requests = 10 + k % 9 if variant == "stable" else 3
    errors = (1 if k % 4 == 0 else 0) if variant == "stable" else 2
    slow = 1 if k % 5 == 0 else 0
    return Served(requests, errors, (requests // 2, requests // 2 + requests // 4, requests - slow, requests))


def openmetrics(first_window_end: float, windows: int) -> str:
    """Counters from `first_window_end - WINDOW` (one window of lead-in) over `windows` windows, every 15 s."""
    origin = first_window_end - 2 * WINDOW
    steps = (windows + 1) * PER_WINDOW
    lines: list[str] = ["# TYPE http_requests counter"]

    def series(name: str, labels: str, increment: Callable[[int], int]) -> None:
        value = 10_000
        for i in range(steps + 1):
            if i:
                value += increment(i)
            lines.append(f"{name}{{{labels}}} {value} {origin + i * SCRAPE:.0f}")

    def window_of(i: int) -> int:
        return (i - 1) // PER_WINDOW - 1  # the increment at step i lands in (t - 15, t]; -1: the lead-in window

    for variant in ("stable", "canary"):
        base = f'job="ion-api",variant="{variant}",path="/api/v2/recommendations"'
        series("http_requests_total", base + ',status="200"',
               lambda i, v=variant: served(v, window_of(i)).requests - served(v, window_of(i)).errors)
        series("http_requests_total", base + ',status="500"', lambda i, v=variant: served(v, window_of(i)).errors)
    lines.append("# TYPE http_request_duration_seconds histogram")
    for variant in ("stable", "canary"):
        base = f'job="ion-api",variant="{variant}",path="/api/v2/recommendations"'
        for index, bound in enumerate(BOUNDS):
            series("http_request_duration_seconds_bucket", base + f',le="{bound}"',
                   lambda i, v=variant, b=index: served(v, window_of(i)).buckets[b])
        series("http_request_duration_seconds_count", base, lambda i, v=variant: served(v, window_of(i)).requests)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@dataclass
class History:
    prom: Prometheus
    end: float  # the rollout's start: the last window ends here
    windows: int


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    binary = require_binary("prometheus")
    promtool = require_binary("promtool")
    workdir = tmp_path_factory.mktemp("prometheus-history")
    windows = 6 * 3600 // WINDOW
    end = math.floor(time.time() / WINDOW) * WINDOW - WINDOW  # leave the last data a window before now
    source = workdir / "history.om"
    # the counters go on a window past `end`: what the canary's rollout served is not the baseline's
    source.write_text(openmetrics(end - (windows - 1) * WINDOW, windows + 1))
    result = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                             str(workdir / "server" / "data")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    prom = Prometheus(binary, workdir / "server", retention="30d")
    try:
        prom.start({"global": {"scrape_interval": "15s"}})
        yield History(prom, end, windows)
    finally:
        prom.stop()


def config(url: str) -> CanariaConfig:
    return parse_config(yaml.safe_dump({
        "service": "ion-api",
        "platform": {"stable": {"url": "http://127.0.0.1:1"}, "canary": {"url": "http://127.0.0.1:2"}},
        "analysis": {"interval": f"{WINDOW}s"},
        "metrics": {"provider": "prometheus", "prometheus": {"url": url, "timeout": "10s"}},
    }))


class CountingTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting which API paths were asked."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_six_hours_of_the_stable_version_are_its_served_counts_window_by_window(history: History) -> None:
    transport = CountingTransport()
    provider = PrometheusMetricsProvider(config(history.prom.url), transport=transport)
    try:
        start = history.end - 6 * 3600
        windows = await provider.read_baseline(start=start, end=history.end, interval=WINDOW)
        assert transport.paths == ["/api/v1/query_range"] * 4  # requests, errors, status, buckets: one each
        expected = [served("stable", k) for k in range(history.windows) if k not in QUIET]
        assert len(windows) == history.windows - len(QUIET) == 69
        for window, truth in zip(windows, expected):
            assert window.requests == PER_WINDOW * truth.requests
            assert window.errors == PER_WINDOW * truth.errors
            assert window.status == {"2xx": PER_WINDOW * (truth.requests - truth.errors),
                                     **({"5xx": PER_WINDOW * truth.errors} if truth.errors else {})}
            assert window.latency == LatencyHistogram.from_cumulative_buckets(  # the served buckets, exactly
                [float(b) for b in BOUNDS], [PER_WINDOW * float(c) for c in truth.buckets])
            assert window.memory_pct is None and window.cpu_pct is None and window.custom == {}
        assert sum(w.latency.count for w in windows) == sum(w.requests for w in windows)

        # the same queries read_window asks, at past times: the last window matches an instant read of it
        last = await provider.read_window(start=history.end - WINDOW, end=history.end, stage_index=0,
                                          canary_weight=0)
        assert last.control.to_dict()["requests"] == windows[-1].requests
        assert last.control.errors == windows[-1].errors and last.control.status == windows[-1].status
        assert last.canary.requests == PER_WINDOW * 3  # the canary's series exist, and were never pooled

        # a span over more steps than Prometheus answers at once is asked in chunks, with the same windows
        original = prometheus_api.MAX_POINTS
        prometheus_api.MAX_POINTS = 7
        try:
            chunked = await provider.read_baseline(start=start, end=history.end, interval=WINDOW)
        finally:
            prometheus_api.MAX_POINTS = original
        assert [w.to_dict() for w in chunked] == [w.to_dict() for w in windows]
        # nothing before the history began: no windows, not zeros
        assert await provider.read_baseline(start=start - 7200, end=start - 3600, interval=WINDOW) == []
    finally:
        await provider.close()
