"""Absolute limits on the canary with consecutive-check counters (the runbook's NO-GO rules).

Counters are recomputed from the window history each tick, so they survive restarts without state:
a window without a reading for the metric (too few requests, no memory figure) neither counts nor resets.

With `significance` set (the judge's default), a reading from requests counts as a breach only when the
window shows the limit is exceeded, not when a few requests push the point estimate over it: for the error
rate, P(X >= errors | n, limit) <= significance under a binomial at the limit; for a quantile limit
(P95 > 500 ms), the number of requests slower than the limit is improbably high for a quantile at the limit.
At the runbook's 15 requests a window one error is 6.7 % "error rate"; this keeps such windows from
counting towards a rollback. Gauges (memory, CPU) and custom metrics are compared as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy.special import bdtrc

from canaria.analysis.verdict import Decision, Reason, Severity
from canaria.analysis.window import VariantWindow, Window
from canaria.config import GuardrailConfig

__all__ = ["GuardrailStatus", "evaluate_guardrails", "exceeds", "format_metric", "metric_value"]

_REQUEST_METRICS = {"error_rate_pct", "p50_ms", "p95_ms", "p99_ms", "mean_ms"}
_QUANTILE_LEVELS = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


def metric_value(variant: VariantWindow, metric: str, min_requests: int = 1) -> float | None:
    """The reading of `metric` in one variant window, or None when the window has none."""
    if metric in _REQUEST_METRICS and variant.requests < max(1, min_requests):
        return None
    if metric == "error_rate_pct":
        rate = variant.error_rate
        return None if rate is None else rate * 100.0
    if metric == "p50_ms":
        return variant.p50_ms
    if metric == "p95_ms":
        return variant.p95_ms
    if metric == "p99_ms":
        return variant.p99_ms
    if metric == "mean_ms":
        return variant.mean_ms
    if metric == "memory_pct":
        return variant.memory_pct
    if metric == "cpu_pct":
        return variant.cpu_pct
    if metric.startswith("custom:"):
        return variant.custom.get(metric.removeprefix("custom:"))
    return None


_LABELS = {
    "error_rate_pct": ("error rate", "%"),
    "p50_ms": ("P50", " ms"),
    "p95_ms": ("P95", " ms"),
    "p99_ms": ("P99", " ms"),
    "mean_ms": ("mean response", " ms"),
    "memory_pct": ("memory", "%"),
    "cpu_pct": ("CPU", "%"),
}


def format_metric(metric: str, value: float | None) -> str:
    label, unit = _LABELS.get(metric, (metric.removeprefix("custom:"), ""))
    if value is None:
        return f"{label} n/a"
    digits = 1 if unit != " ms" else 0
    return f"{label} {value:.{digits}f}{unit}"


@dataclass(frozen=True)
class GuardrailStatus:
    rule: GuardrailConfig
    value: float | None  # latest reading
    control_value: float | None
    streak: int  # consecutive breaching readings at the end of the history

    @property
    def breached(self) -> bool:
        return self.rule.action == "rollback" and self.streak >= self.rule.consecutive

    @property
    def breaching_now(self) -> bool:
        return self.streak > 0

    def reason(self) -> Reason:
        rule = self.rule
        label, unit = _LABELS.get(rule.metric, (rule.metric.removeprefix("custom:"), ""))
        shown = format_metric(rule.metric, self.value)
        limit = f"{rule.max:g}{unit}"
        params = {
            "metric": rule.metric,
            "value": self.value,
            "max": rule.max,
            "streak": self.streak,
            "consecutive": rule.consecutive,
        }
        if self.breached:
            checks = f"on {self.streak} consecutive checks" if rule.consecutive > 1 else "on the last check"
            return Reason(
                check=rule.metric,
                severity=Severity.CRITICAL,
                decision=Decision.NO_GO,
                message=f"{shown} > {limit} {checks}",
                key="guardrail.breached",
                params=params,
                canary_value=self.value,
                control_value=self.control_value,
                threshold=rule.max,
                evidence=f"{self.streak}/{rule.consecutive} consecutive",
            )
        if self.breaching_now:
            warn = rule.action == "warn"
            return Reason(
                check=rule.metric,
                severity=Severity.WARNING,
                decision=Decision.GO if warn else Decision.OBSERVE,
                message=(
                    f"{shown} > {limit} (target)"
                    if warn
                    else f"{shown} > {limit} ({self.streak}/{rule.consecutive} consecutive checks)"
                ),
                key="guardrail.warning" if warn else "guardrail.streak",
                params=params,
                canary_value=self.value,
                control_value=self.control_value,
                threshold=rule.max,
                evidence=f"{self.streak}/{rule.consecutive} consecutive",
            )
        return Reason(
            check=rule.metric,
            severity=Severity.OK,
            decision=Decision.GO,
            message=f"{shown} ≤ {limit}" if self.value is not None else f"{label}: no reading yet",
            key="guardrail.ok",
            params=params,
            canary_value=self.value,
            control_value=self.control_value,
            threshold=rule.max,
        )


def exceeds(variant: VariantWindow, rule: GuardrailConfig, value: float, significance: float | None) -> bool:
    """Whether one reading breaches the rule; with `significance`, only when the data show it (see above)."""
    if value <= rule.max:
        return False
    if significance is None or variant.requests <= 0:
        return True
    n = variant.requests
    if rule.metric == "error_rate_pct":
        limit = min(1.0, rule.max / 100.0)
        return limit < 1.0 and float(bdtrc(variant.errors - 1, n, limit)) <= significance
    level = _QUANTILE_LEVELS.get(rule.metric)
    if level is not None:
        slower = variant.latency.count_above(rule.max)
        return slower > 0 and float(bdtrc(slower - 1, n, 1.0 - level)) <= significance
    return True


def evaluate_guardrails(
    history: Sequence[Window],
    rules: Sequence[GuardrailConfig],
    *,
    min_requests: int,
    significance: float | None = None,
) -> list[GuardrailStatus]:
    statuses: list[GuardrailStatus] = []
    for rule in rules:
        streak = 0
        latest: float | None = None
        latest_control: float | None = None
        seen_latest = False
        for window in reversed(history):
            value = metric_value(window.canary, rule.metric, min_requests)
            if value is None:
                continue
            if not seen_latest:
                latest = value
                latest_control = metric_value(window.control, rule.metric, min_requests)
                seen_latest = True
            if exceeds(window.canary, rule, value, significance):
                streak += 1
            else:
                break
        statuses.append(GuardrailStatus(rule=rule, value=latest, control_value=latest_control, streak=streak))
    return statuses
