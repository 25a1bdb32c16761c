"""The judge: one verdict per tick from the window history. Pure: no I/O, no clock.

Order of precedence (Argo-style `worst()`): any NO-GO finding wins, then OBSERVE, then GO.
GO needs the stage's hold to have passed and enough canary evidence; it is never given on no data.
"""

from __future__ import annotations

from collections.abc import Sequence

from canaria.analysis.context import StageContext
from canaria.analysis.guardrails import evaluate_guardrails
from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.analysis.window import Window
from canaria.config import AnalysisConfig, GuardrailConfig

__all__ = ["evaluate"]


def _stage_requests(history: Sequence[Window], stage_index: int) -> int:
    return sum(w.canary.requests for w in history if w.stage_index == stage_index)


def _score(reasons: Sequence[Reason]) -> int:
    penalty = 0
    for reason in reasons:
        if reason.severity is Severity.CRITICAL:
            penalty += 60
        elif reason.severity is Severity.WARNING:
            penalty += 10 if reason.decision is Decision.GO else 20
    return max(0, min(100, 100 - penalty))


def evaluate(
    history: Sequence[Window],
    ctx: StageContext,
    guardrails: Sequence[GuardrailConfig],
    analysis: AnalysisConfig,
) -> Verdict:
    """Decide GO / OBSERVE / NO-GO for the current stage from all windows so far (latest last)."""
    reasons: list[Reason] = []
    statuses = evaluate_guardrails(history, guardrails, min_requests=analysis.min_requests)
    for status in statuses:
        reason = status.reason()
        if reason.severity is not Severity.OK:
            reasons.append(reason)

    stage_requests = _stage_requests(history, ctx.stage_index)
    needs = max(0, analysis.min_requests - stage_requests)
    max_wait = ctx.hold_s + analysis.max_hold_extension
    hold_passed = ctx.elapsed_in_stage_s >= ctx.hold_s
    needs_human = False
    extension = 0.0
    if needs > 0:
        if ctx.elapsed_in_stage_s < max_wait or analysis.no_data == "observe":
            exhausted = ctx.elapsed_in_stage_s >= max_wait
            needs_human = exhausted
            extension = 0.0 if exhausted else max(0.0, max_wait - ctx.elapsed_in_stage_s)
            reasons.append(
                Reason(
                    check="data",
                    severity=Severity.WARNING if exhausted else Severity.INFO,
                    decision=Decision.OBSERVE,
                    message=(
                        f"not enough canary traffic: {stage_requests} requests in this stage, "
                        f"{needs} more needed for a decision"
                        + (" (longest hold reached; a person must decide)" if exhausted else "")
                    ),
                    key="data.exhausted" if exhausted else "data.insufficient",
                    params={"have": stage_requests, "need": needs},
                    canary_value=float(stage_requests),
                    threshold=float(analysis.min_requests),
                )
            )
        elif analysis.no_data == "fail":
            reasons.append(
                Reason(
                    check="data",
                    severity=Severity.CRITICAL,
                    decision=Decision.NO_GO,
                    message=(
                        f"no data: {stage_requests} canary requests after the longest hold "
                        f"(need {analysis.min_requests}); policy no_data=fail"
                    ),
                    key="data.fail",
                    params={"have": stage_requests, "need": analysis.min_requests},
                    canary_value=float(stage_requests),
                    threshold=float(analysis.min_requests),
                )
            )
        else:  # pass: the user chose to promote without evidence
            reasons.append(
                Reason(
                    check="data",
                    severity=Severity.WARNING,
                    decision=Decision.GO,
                    message=f"no data ({stage_requests} canary requests); policy no_data=pass lets it go",
                    key="data.pass",
                    params={"have": stage_requests, "need": analysis.min_requests},
                )
            )

    score = _score(reasons)
    decision = Decision.worst(*(r.decision for r in reasons)) if reasons else Decision.GO
    if decision is Decision.GO:
        if not hold_passed:
            decision = Decision.OBSERVE
        elif score < analysis.score.pass_:
            decision = Decision.OBSERVE
            reasons.append(
                Reason(
                    check="score",
                    severity=Severity.WARNING,
                    decision=Decision.OBSERVE,
                    message=f"health score {score} below the pass mark {analysis.score.pass_}",
                    key="score.low",
                    params={"score": score, "pass": analysis.score.pass_},
                    threshold=float(analysis.score.pass_),
                )
            )
    return Verdict(
        decision=decision,
        score=score,
        reasons=reasons,
        needs_requests=needs,
        hold_extension_s=extension,
        needs_human=needs_human,
    )
