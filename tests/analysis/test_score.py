"""The 0-100 health score."""

from __future__ import annotations

from canaria.analysis.compare import compare
from canaria.analysis.guardrails import evaluate_guardrails
from canaria.analysis.score import NO_GO_CAP, health_score
from canaria.config import CompareConfig, runbook_guardrails
from tests.analysis.builders import variant, window


def _score(history: list) -> int:
    statuses = evaluate_guardrails(history, runbook_guardrails(), min_requests=10, significance=0.05)
    return health_score(guardrails=statuses, comparisons=compare(history, CompareConfig())).score


def test_identical_windows_inside_every_guardrail_score_100() -> None:
    same = [window(k, variant(30, errors=0, latency_ms=120.0), variant(270, errors=0, latency_ms=120.0))
            for k in range(12)]
    assert _score(same) == 100
    assert health_score().score == 100


def test_points_come_off_with_evidence_and_a_no_go_finding_caps_the_score() -> None:
    def history(canary_errors: int) -> list:
        return [window(k, variant(30, errors=int(k < canary_errors), latency_ms=120.0),
                       variant(270, errors=1, latency_ms=120.0)) for k in range(6)]

    base, some, worse = history(0), history(4), history(5)  # e-values ~0.1, ~1.6, ~4.5
    assert _score(base) == 100
    assert 100 > _score(some) > _score(worse)
    breached = [window(k, variant(30, errors=10, latency_ms=120.0), variant(270, latency_ms=120.0)) for k in range(3)]
    assert _score(breached) <= NO_GO_CAP
