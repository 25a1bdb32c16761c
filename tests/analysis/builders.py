"""Small builders for windows with known counts, so tests state exactly what the judge sees."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from canaria.analysis.window import VariantWindow, Window
from canaria.foundation.histogram import BUCKET_BOUNDS_MS

_BOUNDS = np.asarray(BUCKET_BOUNDS_MS)


def variant(
    requests: int,
    errors: int = 0,
    latencies_ms: Sequence[float] | None = None,
    *,
    latency_ms: float = 100.0,
    memory: float | None = 50.0,
    cpu: float | None = 20.0,
) -> VariantWindow:
    """A variant window; latencies default to `latency_ms` for every request."""
    w = VariantWindow(requests=requests, errors=errors, memory_pct=memory, cpu_pct=cpu,
                      status={"2xx": requests - errors, "5xx": errors})
    for value in latencies_ms if latencies_ms is not None else [latency_ms] * requests:
        w.latency.record(float(value))
    return w


def lognormal_variant(
    rng: np.random.Generator, requests: int, *, p50: float = 100.0, sigma: float = 0.5, error_rate: float = 0.0,
    memory: float | None = 50.0, cpu: float | None = 20.0,
) -> VariantWindow:
    """Lognormal latencies, bucketed with numpy (the same buckets LatencyHistogram.record picks)."""
    errors = int(rng.binomial(requests, error_rate)) if requests else 0
    w = variant(0, memory=memory, cpu=cpu)
    w.requests, w.errors, w.status = requests, errors, {"2xx": requests - errors, "5xx": errors}
    values = rng.lognormal(np.log(p50), sigma, requests)
    counts = np.bincount(np.searchsorted(_BOUNDS, values, side="left"), minlength=len(w.latency.counts))
    w.latency.counts = counts.tolist()
    w.latency.count = requests
    w.latency.sum_ms = float(values.sum())
    w.latency.max_ms = float(values.max()) if requests else 0.0
    return w


def window(k: int, canary: VariantWindow, control: VariantWindow, *, stage: int = 0, weight: float = 5.0,
           interval: float = 300.0) -> Window:
    return Window(start=k * interval, end=(k + 1) * interval, control=control, canary=canary,
                  canary_weight=weight, stage_index=stage)

