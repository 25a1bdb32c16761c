"""The 0-100 health score: one number for people, derived from the same findings as the decision.

100 means indistinguishable from control and inside every guardrail. Points come off for evidence, not for
noise: a comparison loses points in proportion to how far its e-value has gone (on a log scale) towards the
rejection level, so a canary that merely had an unlucky error or two stays near 100, while one half way to a
significant regression has lost 25. The weights are chosen so that the pass mark (80 by default) is a
meaningful line:

=====================================  =========================================
finding                                points off
=====================================  =========================================
rollback guardrail breached            100
rollback guardrail breaching now       30 x streak / consecutive
warning guardrail (target) exceeded    5
comparison (errors, latency)           50 x evidence fraction (0 at e<=1, 1 at rejection)
trend predicted to cross in time       60
significant rising trend               25
=====================================  =========================================

Any NO-GO finding caps the score at 40, so a rollback is never reported alongside a "healthy" number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from canaria.analysis.compare import Comparison
from canaria.analysis.guardrails import GuardrailStatus
from canaria.analysis.trend import TrendFinding
from canaria.analysis.verdict import Decision

__all__ = ["NO_GO_CAP", "ScoreBreakdown", "health_score"]

NO_GO_CAP = 40
_GUARDRAIL_BREACHED = 100.0
_GUARDRAIL_STREAK = 30.0
_GUARDRAIL_WARN = 5.0
_COMPARISON = 50.0
_TREND_BREACH = 60.0
_TREND_RISING = 25.0


@dataclass(frozen=True)
class ScoreBreakdown:
    score: int
    penalties: dict[str, float] = field(default_factory=dict)  # check -> points taken off


def health_score(
    *,
    guardrails: Sequence[GuardrailStatus] = (),
    comparisons: Sequence[Comparison] = (),
    trends: Sequence[TrendFinding] = (),
) -> ScoreBreakdown:
    """Score the findings of one tick; see the module docstring for the weights and why."""
    penalties: dict[str, float] = {}
    no_go = False

    def take(check: str, points: float) -> None:
        if points > 0:
            penalties[check] = penalties.get(check, 0.0) + points

    for status in guardrails:
        rule = status.rule
        if status.breached:
            take(rule.metric, _GUARDRAIL_BREACHED)
            no_go = True
        elif status.breaching_now:
            if rule.action == "warn":
                take(rule.metric, _GUARDRAIL_WARN)
            else:
                take(rule.metric, _GUARDRAIL_STREAK * status.streak / rule.consecutive)
    for comparison in comparisons:
        take(comparison.check, _COMPARISON * comparison.evidence_fraction)
        no_go = no_go or comparison.rejected
    for trend in trends:
        decision = trend.decision
        if decision is Decision.NO_GO:
            take(f"trend.{trend.metric}", _TREND_BREACH)
            no_go = True
        elif decision is Decision.OBSERVE:
            take(f"trend.{trend.metric}", _TREND_RISING)
    score = round(max(0.0, min(100.0, 100.0 - sum(penalties.values()))))
    if no_go:
        score = min(score, NO_GO_CAP)
    return ScoreBreakdown(score=score, penalties={k: round(v, 1) for k, v in penalties.items()})
