"""Consecutive-check counters of the runbook's guardrails, recomputed from window history."""

from __future__ import annotations

from canaria.analysis.guardrails import evaluate_guardrails
from canaria.analysis.window import VariantWindow, Window
from canaria.config import GuardrailConfig, runbook_guardrails
from tests.fakes import variant


def windows(*canaries: VariantWindow) -> list[Window]:
    return [Window(start=i, end=i + 1, control=variant(100), canary=c) for i, c in enumerate(canaries)]


def status_of(history: list[Window], metric: str, min_requests: int = 10):
    rules = [r for r in runbook_guardrails() if r.metric == metric]
    return evaluate_guardrails(history, rules, min_requests=min_requests)[0]


def test_error_rate_needs_three_in_a_row() -> None:
    bad, good = variant(100, errors=5), variant(100, errors=0)
    assert status_of(windows(bad, bad), "error_rate_pct").breached is False
    assert status_of(windows(bad, bad, bad), "error_rate_pct").breached is True
    # a good check in between resets the streak
    s = status_of(windows(bad, bad, good, bad, bad), "error_rate_pct")
    assert s.streak == 2 and not s.breached


def test_windows_without_data_neither_count_nor_reset() -> None:
    bad, empty = variant(100, errors=5), variant(2, errors=2)
    s = status_of(windows(bad, empty, bad, empty, bad), "error_rate_pct")
    assert s.streak == 3 and s.breached


def test_memory_two_in_a_row_and_message_names_value() -> None:
    s = status_of(windows(variant(50, memory=86.0), variant(50, memory=90.0)), "memory_pct")
    assert s.breached
    assert s.reason().message == "memory 90.0% > 85% on 2 consecutive checks"


def test_warn_rules_never_breach() -> None:
    slow = variant(100, latency_ms=400)
    s = status_of(windows(slow, slow, slow, slow), "p50_ms")
    assert s.breaching_now and not s.breached
    assert s.reason().severity.value == "warning"


def test_custom_metric_rule() -> None:
    rule = GuardrailConfig(metric="custom:recommendation_latency_ms", max=100, consecutive=2)
    c = variant(50)
    c.custom["recommendation_latency_ms"] = 150.0
    s = evaluate_guardrails(windows(c, c), [rule], min_requests=10)[0]
    assert s.breached and s.value == 150.0
