"""The `analysis:` section of canaria.yaml: how the judge weighs evidence (kept apart from config.py,
which holds the deployment's shape; `canaria.config` re-exports every name)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from canaria.foundation.durations import Duration

__all__ = ["AnalysisConfig", "CompareConfig", "ScoreConfig", "TrendConfig"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScoreConfig(_Model):
    pass_: int = Field(default=80, ge=0, le=100, alias="pass")


class CompareConfig(_Model):
    """Canary-vs-control comparison (the judge)."""

    enabled: bool = True
    error_rate_tolerance: float = Field(default=0.5, ge=0, description="tolerated relative increase")
    latency_tolerance: float = Field(default=0.2, ge=0, description="tolerated relative P50/P95 increase")
    latency_min_delta_ms: float = Field(
        default=10.0, ge=0,
        description="a quantile regression must also be this many ms slower (5 ms vs 10 ms is process noise, not users' pain)",
    )
    alpha: float = Field(default=0.01, gt=0, lt=1)
    slow_ms: float = Field(default=500.0, gt=0, description="latency objective for 'bad request' counting")
    slow_rate_tolerance: float = Field(
        default=0.5, ge=0, description="tolerated relative increase in the share of requests slower than slow_ms"
    )
    min_rate_delta_pct: float = Field(
        default=0.1, ge=0, le=100,
        description="before the step to all traffic, a rate regression (errors, slow or tail requests) not yet "
        "conclusive holds the rollout only while the canary's share exceeds the tolerated share by more than "
        "this many percentage points (1 slow request against none is noise, not users' pain)",
    )
    latency_quantiles: list[float] = Field(
        default_factory=lambda: [0.5, 0.95, 0.99], min_length=1, description="control quantiles compared"
    )
    baseline: Duration = Field(
        default=10800.0, ge=0,
        description="the stable version's own history before the canary starts, read once and pooled with control (0: none)",
    )

    @field_validator("latency_quantiles")
    @classmethod
    def _quantiles(cls, value: list[float]) -> list[float]:
        for q in value:
            if not 0 < q < 1:
                raise ValueError(f"quantile {q:g} must be between 0 and 1 (e.g. 0.95)")
        return value


class TrendConfig(_Model):
    """Robust slopes of canary saturation and latency, and the predicted time to a guardrail."""

    enabled: bool = True
    min_windows: int = Field(default=6, ge=3, description="windows needed before a slope is trusted")
    lookback: int = Field(default=12, ge=3, description="recent windows the slope is fitted on")
    alpha: float = Field(default=0.01, gt=0, lt=1, description="two-sided level of the slope's confidence interval")
    watch_horizon: Duration = Field(
        default=86400.0, description="rising trends predicted to cross later than this are not reported"
    )
    max_extrapolation: float = Field(
        default=12.0, gt=0, description="trust a fitted line at most this many times its own time span ahead"
    )

    @model_validator(mode="after")
    def _windows(self) -> TrendConfig:
        if self.min_windows > self.lookback:
            raise ValueError(f"min_windows ({self.min_windows}) must not exceed lookback ({self.lookback})")
        return self


class AnalysisConfig(_Model):
    interval: Duration = 300.0
    min_requests: int = Field(default=10, ge=0)
    no_data: Literal["observe", "fail", "pass"] = "observe"
    max_hold_extension: Duration = 1800.0
    #: the fail-safe when metrics cannot be read (Prometheus down): hold, then this after N failed checks
    on_metrics_error: Literal["pause", "rollback"] = "pause"
    max_metrics_errors: int = Field(default=3, ge=1)
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    trend: TrendConfig = Field(default_factory=TrendConfig)
    guardrail_significance: float | None = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="a request-based guardrail reading breaches only when significant at this one-sided level; "
        "null compares the point estimate as read",
    )

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("interval must be greater than 0")
        return value
