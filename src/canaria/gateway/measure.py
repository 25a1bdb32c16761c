"""Per-variant counters in constant memory: the current window and the totals since boot.

Latency is the time to the response head (what a latency guardrail means): a server-sent-event stream
or a download that lasts a minute is one fast request, not a minute-long one. How long streamed
responses and WebSocket tunnels lasted is kept apart in StreamStats, with the retries on stable, so
the judge's latency figures are not skewed by long-lived responses and nothing is hidden either.

Each request updates only the current window (a few integer additions and one histogram bucket).
Totals are the windows already cut plus the current one, merged when someone asks, so the hot path
pays for one view, not two. Prometheus reads the same numbers through a custom collector at scrape
time instead of keeping a second set of per-request metric objects.

Everything runs on the gateway's event loop thread, so a cut (swap the current windows for empty ones)
is atomic with respect to requests without any lock.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from canaria.analysis.window import VariantWindow
from canaria.foundation.histogram import BUCKET_BOUNDS_MS
from canaria.gateway.router import CANARY, STABLE

__all__ = ["PROMETHEUS_BUCKET_INDEXES", "GatewayCollector", "Meter", "Snapshot", "StreamStats"]

_STATUS_CLASSES = ("5xx", "1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass
class StreamStats:
    """Long-lived exchanges of one variant, counted apart from the request latency."""

    streams: int = 0  # responses whose body was relayed piece by piece
    stream_ms_total: float = 0.0
    stream_ms_max: float = 0.0
    upgrades: int = 0  # switched-protocol tunnels (WebSocket)
    tunnel_ms_total: float = 0.0
    idle_closed: int = 0  # streams or tunnels ended by stream_idle_timeout (not errors)
    retried_on_stable: int = 0  # requests this variant failed that stable then answered

    def merge(self, other: StreamStats) -> StreamStats:
        merged = StreamStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})
        merged.stream_ms_max = max(self.stream_ms_max, other.stream_ms_max)
        return merged

    def to_dict(self) -> dict[str, float]:
        return {f.name: round(getattr(self, f.name), 3) for f in fields(self)}


def _no_streams() -> dict[str, StreamStats]:
    return {STABLE: StreamStats(), CANARY: StreamStats()}


@dataclass(frozen=True)
class Snapshot:
    """Both variants over [start, now] (epoch seconds); `control` is the stable variant."""

    start: float
    now: float
    control: VariantWindow
    canary: VariantWindow
    streams: dict[str, StreamStats] = field(default_factory=_no_streams)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.now - self.start)

    def to_dict(self, canary_weight: float) -> dict[str, object]:
        """The admin API's window/totals shape."""
        return {
            "start": self.start,
            "now": self.now,
            "canary_weight": canary_weight,
            "control": self.control.to_dict(),
            "canary": self.canary.to_dict(),
            "streams": {"control": self.streams[STABLE].to_dict(), "canary": self.streams[CANARY].to_dict()},
        }

    def summary(self) -> dict[str, object]:
        """The human-facing shape used by /api/v2/canary/metrics."""
        duration = self.duration_s
        return {
            "start": self.start,
            "now": self.now,
            "duration_s": round(duration, 3),
            "control": self.control.summary(duration),
            "canary": self.canary.summary(duration),
            "streams": {"control": self.streams[STABLE].to_dict(), "canary": self.streams[CANARY].to_dict()},
        }


class Meter:
    """Request counts, errors, status classes and latency per variant."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.boot = clock()
        self.window_start = self.boot
        self._current = {STABLE: VariantWindow(), CANARY: VariantWindow()}
        self._closed = {STABLE: VariantWindow(), CANARY: VariantWindow()}
        self._streams = _no_streams()
        self._closed_streams = _no_streams()

    def record(self, variant: str, status: int, latency_ms: float, *, failed: bool = False) -> None:
        """Count one finished request. `failed` marks an upstream failure the status does not show
        (a response cut off after its head was sent)."""
        window = self._current[variant]
        window.requests += 1
        key = _STATUS_CLASSES[status // 100] if 100 <= status < 600 else "5xx"
        counts = window.status
        counts[key] = counts.get(key, 0) + 1
        if failed or status >= 500:
            window.errors += 1
        # LatencyHistogram.record, inlined: one bisect on the precomputed bounds finds the bucket
        # (bucket i holds bounds[i-1] < ms <= bounds[i]; past the last bound is the overflow bucket)
        histogram = window.latency
        histogram.counts[bisect_left(BUCKET_BOUNDS_MS, latency_ms)] += 1
        histogram.count += 1
        histogram.sum_ms += latency_ms
        if latency_ms > histogram.max_ms:
            histogram.max_ms = latency_ms

    def record_stream(self, variant: str, duration_ms: float, *, tunnel: bool = False, idle_closed: bool = False) -> None:
        """Count how long a streamed response (or a WebSocket tunnel) lasted after its head."""
        stats = self._streams[variant]
        if tunnel:
            stats.upgrades += 1
            stats.tunnel_ms_total += duration_ms
        else:
            stats.streams += 1
            stats.stream_ms_total += duration_ms
            stats.stream_ms_max = max(stats.stream_ms_max, duration_ms)
        if idle_closed:
            stats.idle_closed += 1

    def record_retry(self, variant: str) -> None:
        self._streams[variant].retried_on_stable += 1

    def window(self) -> Snapshot:
        """The current window, without resetting it."""
        return Snapshot(
            self.window_start,
            self._clock(),
            self._current[STABLE].merge(VariantWindow()),
            self._current[CANARY].merge(VariantWindow()),
            {v: s.merge(StreamStats()) for v, s in self._streams.items()},
        )

    def cut(self) -> Snapshot:
        """Close the current window and start a new one at the same instant."""
        now = self._clock()
        closed = Snapshot(self.window_start, now, self._current[STABLE], self._current[CANARY], self._streams)
        self._closed_streams = {v: s.merge(self._streams[v]) for v, s in self._closed_streams.items()}
        self._streams = _no_streams()
        self._current = {STABLE: VariantWindow(), CANARY: VariantWindow()}
        self.window_start = now
        self._closed = {
            STABLE: self._closed[STABLE].merge(closed.control),
            CANARY: self._closed[CANARY].merge(closed.canary),
        }
        return closed

    def totals(self) -> Snapshot:
        """Everything since boot."""
        return Snapshot(
            self.boot,
            self._clock(),
            self._closed[STABLE].merge(self._current[STABLE]),
            self._closed[CANARY].merge(self._current[CANARY]),
            {v: s.merge(self._streams[v]) for v, s in self._closed_streams.items()},
        )


def _prometheus_bucket_indexes() -> tuple[int, ...]:
    """Indexes of our histogram bounds closest to the usual Prometheus `le` values.

    Using our own bounds as `le` makes each cumulative count exact rather than interpolated.
    """
    targets_ms = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
    indexes = []
    for target in targets_ms:
        best = min(range(len(BUCKET_BOUNDS_MS)), key=lambda i: abs(BUCKET_BOUNDS_MS[i] - target))
        indexes.append(best)
    return tuple(sorted(set(indexes)))


PROMETHEUS_BUCKET_INDEXES = _prometheus_bucket_indexes()


class GatewayCollector(Collector):
    """Exposes a Meter's totals and the current weight in Prometheus form."""

    def __init__(self, meter: Meter, canary_weight: Callable[[], float]) -> None:
        self._meter = meter
        self._canary_weight = canary_weight

    def describe(self) -> list[object]:  # no describe-time collection of live data
        return []

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        totals = self._meter.totals()
        requests = CounterMetricFamily(
            "canaria_gateway_requests",
            "Requests answered through the gateway",
            labels=["variant", "code_class"],
        )
        duration = HistogramMetricFamily(
            "canaria_gateway_request_duration_seconds",
            "Time to the response head per request (connect, send, head received)",
            labels=["variant"],
        )
        for variant, window in ((STABLE, totals.control), (CANARY, totals.canary)):
            for code_class in ("1xx", "2xx", "3xx", "4xx", "5xx"):
                requests.add_metric([variant, code_class], window.status.get(code_class, 0))
            counts = window.latency.counts
            buckets: list[tuple[str, float]] = []
            cumulative = 0
            start = 0
            for index in PROMETHEUS_BUCKET_INDEXES:
                cumulative += sum(counts[start : index + 1])
                start = index + 1
                buckets.append((repr(round(BUCKET_BOUNDS_MS[index] / 1000.0, 9)), cumulative))
            buckets.append(("+Inf", window.latency.count))
            duration.add_metric([variant], buckets, window.latency.sum_ms / 1000.0)
        weight = GaugeMetricFamily("canaria_gateway_canary_weight", "Percent of traffic sent to the canary")
        weight.add_metric([], self._canary_weight())
        yield requests
        yield duration
        yield weight
