"""Cloud Monitoring time series → window measurements: pure, so the arithmetic is tested without a client.

- which interval is complete: it ends `ingestion_delay` before now, on a multiple of the alignment period, and
  starts where the previous window ended;
- request counts by `response_code_class` (errors = 5xx, as the gateway counts them);
- a DISTRIBUTION (explicit, exponential or linear buckets, trailing zero buckets omitted as the API allows)
  → canaria's latency histogram, so P50/P95/P99 and the judge's exceedance counts come from the buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from canaria.foundation.histogram import LatencyHistogram

__all__ = ["CompleteWindow", "bucket_bounds", "complete_window", "distribution_histogram"]


@dataclass(frozen=True)
class CompleteWindow:
    start: float
    end: float

    @property
    def seconds(self) -> int:
        return int(round(self.end - self.start))


def complete_window(start: float, end: float, *, now: float, period: float, delay: float) -> CompleteWindow | None:
    """The part of [start, end] whose samples have all arrived, on the alignment grid; None when none has yet.

    The controller starts each window where the last one ended, so a window that comes back None is read
    again, longer, at the next check — late data is never skipped, never counted twice.
    """
    q_start = math.ceil(start / period - 1e-9) * period
    q_end = math.floor((min(end, now) - delay) / period + 1e-9) * period
    if q_end - q_start < period:
        return None
    return CompleteWindow(q_start, q_end)


def bucket_bounds(options: Any) -> list[float]:
    """Finite bucket bounds of a Distribution's bucket options (proto or proto-plus BucketOptions)."""
    if "explicit_buckets" in options:
        return list(options.explicit_buckets.bounds)
    if "exponential_buckets" in options:
        e = options.exponential_buckets
        return [e.scale * e.growth_factor**i for i in range(e.num_finite_buckets + 1)]
    if "linear_buckets" in options:
        lin = options.linear_buckets
        return [lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1)]
    return []


def distribution_histogram(bounds_ms: list[float], counts: list[int]) -> LatencyHistogram:
    """Bucket i covers [bounds[i-1], bounds[i]); bucket 0 is underflow (from 0), the last is overflow."""
    uppers = [*bounds_ms, math.inf]
    cumulative: list[float] = []
    running = 0
    for i in range(len(uppers)):
        running += int(counts[i]) if i < len(counts) else 0
        cumulative.append(float(running))
    return LatencyHistogram.from_cumulative_buckets([u / 1000.0 for u in uppers], cumulative)
