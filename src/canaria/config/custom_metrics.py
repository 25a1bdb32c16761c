"""`metrics.custom`: a metric read from each version's own /metrics (e.g. the runbook's recommendation-engine
latency), as a histogram quantile or a gauge."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ScrapedMetric"]


class ScrapedMetric(BaseModel):
    """One custom metric: a histogram quantile (ms) or a gauge value, filtered by labels."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    histogram: str | None = None  # e.g. recommendation_engine_latency_seconds (le in seconds)
    gauge: str | None = None
    quantile: float = Field(default=0.95, gt=0, lt=1)
    scale: float = 1.0  # gauges only: multiply the value (e.g. 1000 for seconds → ms)
    labels: dict[str, str] = Field(default_factory=dict)
    kind: Literal["histogram", "gauge"] = "histogram"

    @model_validator(mode="after")
    def _one_source(self) -> ScrapedMetric:
        if bool(self.histogram) == bool(self.gauge):
            raise ValueError("give exactly one of `histogram` or `gauge`")
        self.kind = "histogram" if self.histogram else "gauge"
        return self
