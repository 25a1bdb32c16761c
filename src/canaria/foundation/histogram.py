"""Latency histogram with fixed log-spaced buckets, shared by the gateway, the providers and the judge.

Fixed bounds make histograms mergeable by adding counts, keep memory constant per window, and give
every quantile within ~2.5 % relative error (bucket growth 1.05) from 0.1 ms to 10 minutes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["BUCKET_BOUNDS_MS", "LatencyHistogram"]

_GROWTH = 1.05
_MIN_MS = 0.1
_MAX_MS = 600_000.0


def _bounds() -> tuple[float, ...]:
    bounds: list[float] = []
    value = _MIN_MS
    while value < _MAX_MS:
        bounds.append(round(value, 6))
        value *= _GROWTH
    bounds.append(_MAX_MS)
    return tuple(bounds)


#: Upper bound (inclusive, ms) of each bucket; one overflow bucket follows the last bound.
BUCKET_BOUNDS_MS: tuple[float, ...] = _bounds()
_NBUCKETS = len(BUCKET_BOUNDS_MS) + 1
_LOG_GROWTH = math.log(_GROWTH)


def _index(ms: float) -> int:
    if ms <= _MIN_MS:
        return 0
    guess = int(math.log(ms / _MIN_MS) / _LOG_GROWTH)
    guess = max(0, min(guess, _NBUCKETS - 1))
    # correct the float guess against the exact bounds
    while guess > 0 and ms <= BUCKET_BOUNDS_MS[guess - 1]:
        guess -= 1
    while guess < len(BUCKET_BOUNDS_MS) and ms > BUCKET_BOUNDS_MS[guess]:
        guess += 1
    return guess


class LatencyHistogram:
    """Counts of request latencies in fixed buckets, plus exact count, sum and max."""

    __slots__ = ("counts", "count", "sum_ms", "max_ms")

    def __init__(self) -> None:
        self.counts: list[int] = [0] * _NBUCKETS
        self.count = 0
        self.sum_ms = 0.0
        self.max_ms = 0.0

    def record(self, ms: float) -> None:
        self.counts[_index(ms)] += 1
        self.count += 1
        self.sum_ms += ms
        if ms > self.max_ms:
            self.max_ms = ms

    def record_many(self, values: Iterable[float]) -> None:
        for value in values:
            self.record(value)

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        """Add `other` into this histogram and return self."""
        for i, c in enumerate(other.counts):
            if c:
                self.counts[i] += c
        self.count += other.count
        self.sum_ms += other.sum_ms
        self.max_ms = max(self.max_ms, other.max_ms)
        return self

    def copy(self) -> LatencyHistogram:
        return LatencyHistogram().merge(self)

    @property
    def mean_ms(self) -> float | None:
        return self.sum_ms / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1) in ms, interpolated inside its bucket; None when empty."""
        if self.count == 0:
            return None
        rank = q * self.count
        seen = 0
        for i, c in enumerate(self.counts):
            if not c:
                continue
            if seen + c >= rank:
                lower = BUCKET_BOUNDS_MS[i - 1] if i > 0 else 0.0
                upper = BUCKET_BOUNDS_MS[i] if i < len(BUCKET_BOUNDS_MS) else max(self.max_ms, _MAX_MS)
                fraction = (rank - seen) / c if c else 0.0
                value = lower + (upper - lower) * max(0.0, min(1.0, fraction))
                return min(value, self.max_ms) if self.max_ms else value
            seen += c
        return self.max_ms

    def count_above(self, threshold_ms: float) -> int:
        """Requests slower than `threshold_ms` (bucket resolution)."""
        start = bisect.bisect_left(BUCKET_BOUNDS_MS, threshold_ms)
        if start < len(BUCKET_BOUNDS_MS) and BUCKET_BOUNDS_MS[start] <= threshold_ms:
            start += 1
        return sum(self.counts[start:])

    def cdf(self, ms: float) -> float:
        """Fraction of requests at or below `ms` (bucket resolution)."""
        if self.count == 0:
            return 0.0
        return 1.0 - self.count_above(ms) / self.count

    def to_dict(self) -> dict[str, Any]:
        """Sparse JSON form: {"buckets": {index: count}, "count", "sum_ms", "max_ms"}."""
        return {
            "buckets": {str(i): c for i, c in enumerate(self.counts) if c},
            "count": self.count,
            "sum_ms": round(self.sum_ms, 3),
            "max_ms": round(self.max_ms, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> LatencyHistogram:
        hist = cls()
        if not data:
            return hist
        for key, value in dict(data.get("buckets", {})).items():
            idx = int(key)
            if 0 <= idx < _NBUCKETS:
                hist.counts[idx] += int(value)
        hist.count = int(data.get("count", sum(hist.counts)))
        hist.sum_ms = float(data.get("sum_ms", 0.0))
        hist.max_ms = float(data.get("max_ms", 0.0))
        return hist

    @classmethod
    def from_cumulative_buckets(cls, upper_bounds_s: list[float], cumulative: list[float]) -> LatencyHistogram:
        """Build from a Prometheus-style cumulative histogram (le bounds in seconds).

        Each Prometheus bucket's requests are spread evenly over its range, the assumption
        `histogram_quantile` makes, so quantiles agree with what Grafana shows for the same data.
        Requests in the +Inf bucket are spread over [last bound, 2 × last bound]: they are known to be
        slower than the last bound, and a guardrail must see them as such (histogram_quantile would
        cap them at the bound, so "P95 > 500 ms" could never fire with a 0.5 s top bucket).
        """
        hist = cls()
        previous = 0.0
        lower_ms = 0.0
        for bound, cum in zip(upper_bounds_s, cumulative):
            n = int(round(cum - previous))
            previous = cum
            upper_ms = bound * 1000.0 if math.isfinite(bound) else (lower_ms * 2 or 1.0)
            if n > 0:
                hist._spread(lower_ms, max(upper_ms, lower_ms), n)
            lower_ms = max(lower_ms, upper_ms)
        return hist

    def _spread(self, lower_ms: float, upper_ms: float, n: int) -> None:
        first, last = _index(lower_ms), _index(upper_ms)
        if upper_ms <= lower_ms or first == last:
            self.counts[last] += n
        else:
            shares: list[tuple[int, float]] = []
            for i in range(first, last + 1):
                lo = BUCKET_BOUNDS_MS[i - 1] if i > 0 else 0.0
                hi = BUCKET_BOUNDS_MS[i] if i < len(BUCKET_BOUNDS_MS) else upper_ms
                overlap = max(0.0, min(hi, upper_ms) - max(lo, lower_ms))
                shares.append((i, n * overlap / (upper_ms - lower_ms)))
            given = 0
            for i, share in shares:
                self.counts[i] += int(share)
                given += int(share)
            by_remainder = sorted(shares, key=lambda item: item[1] - int(item[1]), reverse=True)
            for i, _share in by_remainder[: n - given]:
                self.counts[i] += 1
        self.count += n
        self.sum_ms += n * (lower_ms + upper_ms) / 2
        self.max_ms = max(self.max_ms, upper_ms)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LatencyHistogram) and self.counts == other.counts and self.count == other.count

    def __repr__(self) -> str:
        return f"LatencyHistogram(count={self.count}, p50={self.quantile(0.5)}, p95={self.quantile(0.95)})"
