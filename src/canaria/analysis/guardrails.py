"""Absolute limits on the canary with consecutive-check counters (the runbook's NO-GO rules).

Counters are recomputed from the window history each tick, so they survive restarts without state:
a window without a reading for the metric (too few requests, no memory figure) neither counts nor resets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canaria.analysis.verdict import Decision, Reason, Severity
from canaria.analysis.window import VariantWindow, Window
from canaria.config import GuardrailConfig

__all__ = ["metric_value", "GuardrailStatus", "evaluate_guardrails", "format_metric"]

_REQUEST_METRICS = {"error_rate_pct", "p50_ms", "p95_ms", "p99_ms", "mean_ms"}


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


def evaluate_guardrails(
    history: Sequence[Window], rules: Sequence[GuardrailConfig], *, min_requests: int
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
            if value > rule.max:
                streak += 1
            else:
                break
        statuses.append(GuardrailStatus(rule=rule, value=latest, control_value=latest_control, streak=streak))
    return statuses
