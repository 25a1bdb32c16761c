"""What one analysis window measured, per variant.

A window is the traffic between two controller ticks. Providers (builtin gateway counters, Prometheus)
fill it; the judge reads it. Counts, not ratios, so the statistics can weigh evidence by sample size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canaria.foundation.histogram import LatencyHistogram

__all__ = ["VariantWindow", "Window"]


@dataclass
class VariantWindow:
    """One variant's measurements in one window."""

    requests: int = 0
    errors: int = 0  # 5xx answers and upstream failures (the gateway's 502/504)
    status: dict[str, int] = field(default_factory=dict)  # "2xx", "3xx", "4xx", "5xx"
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    memory_pct: float | None = None  # of memory_limit, else of system memory
    cpu_pct: float | None = None
    custom: dict[str, float] = field(default_factory=dict)  # user metrics, e.g. recommendation_latency_ms

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def quantile_ms(self, q: float) -> float | None:
        return self.latency.quantile(q)

    @property
    def p50_ms(self) -> float | None:
        return self.latency.quantile(0.50)

    @property
    def p95_ms(self) -> float | None:
        return self.latency.quantile(0.95)

    @property
    def p99_ms(self) -> float | None:
        return self.latency.quantile(0.99)

    @property
    def mean_ms(self) -> float | None:
        return self.latency.mean_ms

    def merge(self, other: VariantWindow) -> VariantWindow:
        """A new window that adds counts and keeps the latest saturation readings."""
        merged = VariantWindow(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            status={k: self.status.get(k, 0) + other.status.get(k, 0) for k in {*self.status, *other.status}},
            latency=self.latency.copy().merge(other.latency),
            memory_pct=other.memory_pct if other.memory_pct is not None else self.memory_pct,
            cpu_pct=other.cpu_pct if other.cpu_pct is not None else self.cpu_pct,
            custom={**self.custom, **other.custom},
        )
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "status": dict(self.status),
            "latency": self.latency.to_dict(),
            "memory_pct": self.memory_pct,
            "cpu_pct": self.cpu_pct,
            "custom": dict(self.custom),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VariantWindow:
        return cls(
            requests=int(data.get("requests", 0)),
            errors=int(data.get("errors", 0)),
            status={str(k): int(v) for k, v in dict(data.get("status", {})).items()},
            latency=LatencyHistogram.from_dict(data.get("latency")),
            memory_pct=data.get("memory_pct"),
            cpu_pct=data.get("cpu_pct"),
            custom={str(k): float(v) for k, v in dict(data.get("custom", {})).items()},
        )

    def summary(self, duration_s: float) -> dict[str, Any]:
        """Human-facing figures (the `metrics --json` shape per variant)."""

        def r(x: float | None, n: int = 1) -> float | None:
            return None if x is None else round(x, n)

        rate = self.error_rate
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate_pct": None if rate is None else round(rate * 100, 3),
            "p50_ms": r(self.p50_ms),
            "p95_ms": r(self.p95_ms),
            "p99_ms": r(self.p99_ms),
            "mean_ms": r(self.mean_ms),
            "rps": round(self.requests / duration_s, 2) if duration_s > 0 else None,
            "memory_pct": r(self.memory_pct),
            "cpu_pct": r(self.cpu_pct),
            "custom": {k: round(v, 3) for k, v in self.custom.items()},
        }


@dataclass
class Window:
    """Both variants over the same interval [start, end] (epoch seconds)."""

    start: float
    end: float
    control: VariantWindow
    canary: VariantWindow
    canary_weight: float = 0.0  # percent of traffic the canary had during the window
    stage_index: int = 0

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end - self.start)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "canary_weight": self.canary_weight,
            "stage_index": self.stage_index,
            "control": self.control.to_dict(),
            "canary": self.canary.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Window:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            canary_weight=float(data.get("canary_weight", 0.0)),
            stage_index=int(data.get("stage_index", 0)),
            control=VariantWindow.from_dict(data.get("control", {})),
            canary=VariantWindow.from_dict(data.get("canary", {})),
        )
