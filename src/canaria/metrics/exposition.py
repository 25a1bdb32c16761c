"""Custom metrics for the builtin provider, read from each version's own `/metrics` (Prometheus text).

Teams without a Prometheus server still get the runbook's recommendation-engine latency: canaria
scrapes both versions itself at every check and turns histogram increases into a quantile, so a
guardrail like `custom:recommendation_latency_ms < 100` works on the embedded default.
"""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from canaria.config.custom_metrics import ScrapedMetric
from canaria.foundation.histogram import LatencyHistogram

__all__ = ["parse_exposition", "CumulativeHistogram", "ScrapeState"]


CumulativeHistogram = dict[float, float]  # le (seconds) -> cumulative count


def parse_exposition(text: str, metric: ScrapedMetric) -> CumulativeHistogram | float | None:
    """The metric's cumulative buckets (summed over matching series) or its gauge value."""
    wanted = metric.histogram or metric.gauge or ""
    base = wanted.removesuffix("_bucket")
    buckets: CumulativeHistogram = {}
    gauge: float | None = None
    for family in text_string_to_metric_families(text):
        if family.name not in (base, wanted):
            continue
        for sample in family.samples:
            if any(sample.labels.get(k) != v for k, v in metric.labels.items()):
                continue
            if metric.kind == "histogram" and sample.name == f"{base}_bucket":
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + float(sample.value)
            elif metric.kind == "gauge" and sample.name == wanted:
                gauge = (gauge or 0.0) + float(sample.value)
    if metric.kind == "gauge":
        return None if gauge is None else gauge * metric.scale
    return buckets or None


class ScrapeState:
    """The last cumulative buckets per (variant, metric), so each check sees only its own window."""

    def __init__(self) -> None:
        self._previous: dict[tuple[str, str], CumulativeHistogram] = {}

    def window_value(self, variant: str, metric: ScrapedMetric, current: CumulativeHistogram | float | None,
                     *, commit: bool) -> float | None:
        if current is None or isinstance(current, float):
            return current
        key = (variant, metric.name)
        previous = self._previous.get(key, {})
        if commit:
            self._previous[key] = dict(current)
        bounds = sorted(current)
        deltas = [current[le] - previous.get(le, 0.0) for le in bounds]
        if any(d < 0 for d in deltas):  # the process restarted: its counters began again
            deltas = [current[le] for le in bounds]
        if not deltas or deltas[-1] <= 0:
            return None
        hist = LatencyHistogram.from_cumulative_buckets(bounds, deltas)
        value = hist.quantile(metric.quantile)
        return None if value is None or math.isnan(value) else round(value, 3)
