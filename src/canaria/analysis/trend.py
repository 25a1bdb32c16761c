"""Trends and prediction: robust slopes of canary memory, CPU and P95, and when a guardrail would be crossed.

Why Theil–Sen (Sen 1968; Theil 1950): the median of pairwise slopes ignores the odd spike (a GC pause, a
burst) that would drag a least-squares line, and Sen's rank interval gives a distribution-free confidence
interval for the slope. A rise counts only when it is significant twice over: the canary's own slope and
the slope of (canary - control) both have confidence intervals above zero. The second condition keeps a
load-driven rise that control shares (diurnal traffic, a busy hour) from reading as a leak.

The prediction is a straight line from the fitted level now to the guardrail's limit. It is NO-GO when
the crossing falls inside the time the canary will still be exposed before the next decision point: the
rest of this stage's hold plus the next stage's hold (for the stage before full traffic, one more hold of
this stage, since after it the canary is production). Because the slope test is repeated every tick, the
NO-GO uses the low end of the slope's interval ("it crosses in time even if it rises as slowly as the data
allow"); the message gives the point estimate. A significant rise that would cross later, but inside
`trend.watch_horizon`, is OBSERVE: the rollout waits rather than promote a leak. A prediction further ahead
than `trend.max_extrapolation` times the fitted span is not made at all: ten seconds of a process warming
up under new load do not say where it will be in an hour. Load-driven readings
(CPU, P95) are fitted within the current stage only, and P95 only from windows with 50+ requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from scipy.special import ndtri

from canaria.analysis.context import StageContext
from canaria.analysis.guardrails import format_metric, metric_value
from canaria.analysis.verdict import Decision, Reason, Severity
from canaria.analysis.window import Window
from canaria.config import GuardrailConfig, TrendConfig
from canaria.i18n.spans import format_span

__all__ = ["SlopeFit", "TrendFinding", "analyse_trends", "format_eta", "theil_sen"]

TREND_METRICS = ("memory_pct", "cpu_pct", "p95_ms")
#: load-driven readings move by themselves when a stage changes the traffic split: fit them within the stage
_WITHIN_STAGE = {"cpu_pct", "p95_ms"}
#: a P95 from fewer requests is mostly the slowest one or two: too noisy to fit a slope to
_MIN_LATENCY_REQUESTS = 50
_UNITS = {"memory_pct": "%", "cpu_pct": "%", "p95_ms": " ms"}


@dataclass(frozen=True)
class SlopeFit:
    slope: float  # units per second
    intercept: float  # at t = 0
    low: float
    high: float

    def at(self, t: float) -> float:
        return self.intercept + self.slope * t


@lru_cache(maxsize=16)
def _z(alpha: float) -> float:
    return float(-ndtri(alpha / 2.0))


def _median_sorted(values: Sequence[float]) -> float:
    mid = len(values) // 2
    return float(values[mid]) if len(values) % 2 else 0.5 * float(values[mid - 1] + values[mid])


def _tie_term(ordered: Sequence[float]) -> float:
    """Sen's tie correction: sum of k(k-1)(2k+5) over groups of equal values (input sorted)."""
    total, run = 0.0, 1
    for previous, value in pairwise(ordered):
        if value == previous:
            run += 1
            continue
        total += run * (run - 1) * (2 * run + 5)
        run = 1
    return total + run * (run - 1) * (2 * run + 5)


def theil_sen(t: Sequence[float], y: Sequence[float], alpha: float = 0.05) -> SlopeFit:
    """Median pairwise slope with Sen's (1968, eq. 2.6) two-sided 1-alpha interval, as scipy's theilslopes.

    Plain Python: for the dozen points the judge fits, several times a tick, it is ~3x faster than numpy's
    call overheads and ~30x faster than scipy.stats.theilslopes.
    """
    t, y = [float(v) for v in t], [float(v) for v in y]
    n = len(t)
    slopes = sorted(
        (y[j] - y[i]) / (t[j] - t[i]) for i in range(n) for j in range(i + 1, n) if t[j] != t[i]
    )
    y_sorted, t_sorted = sorted(y), sorted(t)
    if not slopes:
        return SlopeFit(0.0, _median_sorted(y_sorted), 0.0, 0.0)
    slope = _median_sorted(slopes)
    intercept = _median_sorted(y_sorted) - slope * _median_sorted(t_sorted)
    sigsq = (n * (n - 1) * (2 * n + 5) - _tie_term(t_sorted) - _tie_term(y_sorted)) / 18.0
    spread = _z(alpha) * math.sqrt(max(sigsq, 0.0))
    nt = len(slopes)
    upper_index = min(round((nt + spread) / 2.0), nt - 1)
    lower_index = max(round((nt - spread) / 2.0) - 1, 0)
    return SlopeFit(slope, intercept, slopes[lower_index], slopes[upper_index])


def format_eta(seconds: float, lang: str = "en") -> str:
    """12 s, 1 min 30 s, 47 min, 2 h 05 min: a countdown at the plan's scale (a demo's holds are seconds)."""
    return format_span(seconds, lang)


@dataclass(frozen=True)
class TrendFinding:
    metric: str
    limit: float
    level: float  # fitted canary level at the latest window
    slope_per_h: float
    slope_ci_per_h: tuple[float, float]
    relative_slope_per_h: float | None  # canary minus control
    relative_ci_per_h: tuple[float, float] | None
    eta_s: float | None  # predicted seconds until the limit is crossed (None: not rising)
    latest_eta_s: float | None  # the same at the low end of the slope's interval: the NO-GO test
    rising: bool  # significant on both counts
    horizon_s: float  # exposure left before the next decision point
    windows: int

    @property
    def decision(self) -> Decision:
        if self.rising and self.latest_eta_s is not None and self.latest_eta_s <= self.horizon_s:
            return Decision.NO_GO
        if self.rising:
            return Decision.OBSERVE
        return Decision.GO

    def reason(self) -> Reason:
        unit = _UNITS.get(self.metric, "")
        shown = format_metric(self.metric, self.level)
        direction = "rising" if self.slope_per_h > 0 else "falling"
        rate = f"{direction} {abs(self.slope_per_h):.1f}{unit}/h"
        params = {
            "metric": self.metric,
            "level": round(self.level, 2),
            "slope_per_h": round(self.slope_per_h, 3),
            "limit": self.limit,
            "eta_s": None if self.eta_s is None else round(self.eta_s),
            "eta": None if self.eta_s is None else format_eta(self.eta_s),
            "relative_slope_per_h": None if self.relative_slope_per_h is None else round(self.relative_slope_per_h, 3),
        }
        lo, hi = self.slope_ci_per_h
        evidence = f"Theil-Sen over {self.windows} windows, slope CI [{lo:.2f}, {hi:.2f}]{unit}/h"
        if self.relative_ci_per_h is not None:
            rlo, rhi = self.relative_ci_per_h
            evidence += f", vs control [{rlo:.2f}, {rhi:.2f}]{unit}/h"
        decision = self.decision
        limit = f"{self.limit:g}{unit}"
        if decision is Decision.NO_GO:
            assert self.eta_s is not None
            message = f"{shown} {rate}, predicted to cross {limit} in {format_eta(self.eta_s)}"
            return Reason(
                check=f"trend.{self.metric}", severity=Severity.CRITICAL, decision=decision, message=message,
                key="trend.breach_predicted", params=params, canary_value=self.level, threshold=self.limit,
                evidence=evidence,
            )
        if decision is Decision.OBSERVE:
            eta = f"would cross {limit} in {format_eta(self.eta_s)}" if self.eta_s is not None else "rising"
            return Reason(
                check=f"trend.{self.metric}", severity=Severity.WARNING, decision=decision,
                message=f"{shown} {rate} ({eta})", key="trend.rising", params=params,
                canary_value=self.level, threshold=self.limit, evidence=evidence,
            )
        return Reason(
            check=f"trend.{self.metric}", severity=Severity.OK, decision=Decision.GO,
            message=f"{shown} stable", key="trend.stable", params=params, canary_value=self.level,
            threshold=self.limit, evidence=evidence,
        )


def _readings(window: Window, metric: str, min_requests: int) -> tuple[float | None, float | None]:
    """Canary and control readings of one window (a P95 only from 50+ requests)."""
    if metric == "memory_pct":
        return window.canary.memory_pct, window.control.memory_pct
    if metric == "cpu_pct":
        return window.canary.cpu_pct, window.control.cpu_pct
    needed = max(min_requests, _MIN_LATENCY_REQUESTS)
    return metric_value(window.canary, metric, needed), metric_value(window.control, metric, needed)


def _limits(guardrails: Sequence[GuardrailConfig]) -> dict[str, float]:
    limits: dict[str, float] = {}
    for rule in guardrails:
        if rule.action == "rollback" and rule.metric in TREND_METRICS:
            limits[rule.metric] = min(rule.max, limits.get(rule.metric, math.inf))
    return limits


def exposure_horizon_s(ctx: StageContext) -> float:
    """Time the canary stays exposed before the next point where the judge can still stop it."""
    following = ctx.next_stage_hold_s if ctx.next_stage_hold_s > 0 else ctx.hold_s
    return ctx.hold_remaining_s + following


def analyse_trends(
    history: Sequence[Window],
    ctx: StageContext,
    guardrails: Sequence[GuardrailConfig],
    config: TrendConfig,
    *,
    min_requests: int = 1,
) -> list[TrendFinding]:
    """One finding per trended metric that has a guardrail and enough recent readings."""
    if not config.enabled:
        return []
    limits = _limits(guardrails)
    recent = history[-config.lookback :]
    horizon = exposure_horizon_s(ctx)
    findings: list[TrendFinding] = []
    for metric, limit in limits.items():
        times: list[float] = []
        canary: list[float] = []
        control: list[float | None] = []
        for window in recent:
            if metric in _WITHIN_STAGE and window.stage_index != ctx.stage_index:
                continue
            value, control_value = _readings(window, metric, min_requests)
            if value is None:
                continue
            times.append(window.end)
            canary.append(value)
            control.append(control_value)
        if len(times) < config.min_windows:
            continue
        t = [time - times[-1] for time in times]  # seconds, 0 = latest
        y = canary
        fit = theil_sen(t, y, config.alpha)
        level = fit.at(0.0)
        relative: SlopeFit | None = None
        paired = [(ti, yi - ci) for ti, yi, ci in zip(t, y, control) if ci is not None]
        if fit.low > 0 and len(paired) >= config.min_windows:  # only worth fitting when the canary rises
            relative = theil_sen([p[0] for p in paired], [p[1] for p in paired], config.alpha)
        rising = fit.low > 0 and (relative is None or relative.low > 0)
        eta: float | None = None
        if fit.slope > 0:
            eta = max(0.0, (limit - level) / fit.slope)
        latest_eta = max(0.0, (limit - level) / fit.low) if fit.low > 0 else None
        if rising and eta is not None and eta > config.watch_horizon:
            rising = False
        span = t[-1] - t[0]
        if rising and eta is not None and eta > config.max_extrapolation * span:
            rising = False  # a line fitted over a short span says little about much later (warm-up, load)
        findings.append(
            TrendFinding(
                metric=metric,
                limit=limit,
                level=level,
                slope_per_h=fit.slope * 3600.0,
                slope_ci_per_h=(fit.low * 3600.0, fit.high * 3600.0),
                relative_slope_per_h=None if relative is None else relative.slope * 3600.0,
                relative_ci_per_h=None if relative is None else (relative.low * 3600.0, relative.high * 3600.0),
                eta_s=eta,
                latest_eta_s=latest_eta,
                rising=rising,
                horizon_s=horizon,
                windows=len(times),
            )
        )
    return findings
