"""The judge: one verdict per tick from the window history. Pure: no I/O, no clock.

It combines four kinds of finding, each a `Reason` with the canary and control figures behind it:
guardrails (the runbook's absolute limits with consecutive counters), the anytime-valid comparison with
control (compare.py), trends and predicted guardrail crossings (trend.py) and data sufficiency. The order of
precedence is Argo's `worst()`: any NO-GO finding wins, then OBSERVE, then GO. GO needs the stage's hold to
have passed, enough canary requests in the stage, and a health score (score.py) at or above the pass mark;
it is never given on no data. When the hold has passed but GO is not reached, the verdict says how much
longer the hold may be extended; past `analysis.max_hold_extension` a persisting rising trend becomes
NO-GO (we do not promote a leak), and anything else needs a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canaria.analysis.compare import Comparison, ComparisonState, compare
from canaria.analysis.context import StageContext
from canaria.analysis.guardrails import evaluate_guardrails
from canaria.analysis.score import NO_GO_CAP, health_score
from canaria.analysis.trend import analyse_trends, format_eta
from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.analysis.window import VariantWindow, Window
from canaria.config import AnalysisConfig, GuardrailConfig

__all__ = ["JudgeState", "evaluate"]

#: How much longer than its hold an earlier stage (not the step to 100 %) is held while the evidence leans
#: towards a regression, as a share of that hold. Against a concurrent control, a nat of evidence costs
#: ~3x fewer bad requests at 5-10 % than at 50 % (docs/judge.md), so a suspect canary is better watched a
#: little longer where it is; bounded, so that a good canary that leans by chance is late by at most this.
EARLY_LEANING_HOLD = 0.25


@dataclass
class JudgeState:
    """Evidence a caller may keep between ticks so each tick only reads the newest window.

    Optional: without it the judge recomputes from the whole history, with the same result.
    """

    comparison: ComparisonState | None = None
    #: control-only windows from before the canary started (optional, e.g. the last hour of the stable
    #: version's metrics): they join the control pooled over the rollout (pooled.py)
    baseline: Sequence[VariantWindow] = ()


def _leaning(comparisons: Sequence[Comparison], ctx: StageContext) -> list[Comparison]:
    """The comparisons whose evidence leans towards a regression enough to hold the stage.

    Before the step to all traffic: any start's own Bayes factor above 1 (`Comparison.leaning`). At an
    earlier stage, for at most EARLY_LEANING_HOLD of its hold longer: the weighted e-value above 1, a
    stronger sign, so that good canaries are rarely delayed.
    """
    if ctx.traffic >= 100.0:
        return []  # already on all traffic: no control left to resolve the evidence, so waiting cannot help
    if ctx.promotes_fully:
        return [c for c in comparisons if c.leaning > 1.0]
    if ctx.elapsed_in_stage_s < ctx.hold_s * (1.0 + EARLY_LEANING_HOLD):
        return [c for c in comparisons if c.e_value > 1.0]
    return []


def _lean_value(comparison: Comparison, ctx: StageContext) -> float:
    return comparison.leaning if ctx.promotes_fully else comparison.e_value


def _stage_requests(history: Sequence[Window], stage_index: int) -> int:
    return sum(w.canary.requests for w in history if w.stage_index == stage_index)


def _data_reason(stage_requests: int, ctx: StageContext, analysis: AnalysisConfig) -> tuple[Reason | None, bool]:
    """The data-sufficiency finding and whether a person must now decide."""
    needs = max(0, analysis.min_requests - stage_requests)
    if needs == 0:
        return None, False
    max_wait = ctx.hold_s + analysis.max_hold_extension
    exhausted = ctx.elapsed_in_stage_s >= max_wait
    params = {"have": stage_requests, "need": needs}
    if not exhausted or analysis.no_data == "observe":
        return (
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
                params=params,
                canary_value=float(stage_requests),
                threshold=float(analysis.min_requests),
            ),
            exhausted,
        )
    if analysis.no_data == "fail":
        return (
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
            ),
            False,
        )
    return (
        Reason(
            check="data",
            severity=Severity.WARNING,
            decision=Decision.GO,
            message=f"no data ({stage_requests} canary requests); policy no_data=pass lets it go",
            key="data.pass",
            params={"have": stage_requests, "need": analysis.min_requests},
        ),
        False,
    )


def evaluate(
    history: Sequence[Window],
    ctx: StageContext,
    guardrails: Sequence[GuardrailConfig],
    analysis: AnalysisConfig,
    *,
    state: JudgeState | None = None,
    baseline: Sequence[VariantWindow] = (),
) -> Verdict:
    """Decide GO / OBSERVE / NO-GO for the current stage from all windows so far (latest last).

    `baseline` (or `state.baseline`): control-only windows from before the canary started, if any."""
    reasons: list[Reason] = []
    statuses = evaluate_guardrails(
        history, guardrails, min_requests=analysis.min_requests, significance=analysis.guardrail_significance
    )
    reasons.extend(status.reason() for status in statuses if status.breaching_now)

    comparison_state = None
    if state is not None:
        if state.comparison is None:
            state.comparison = ComparisonState(analysis.compare, baseline or state.baseline)
        comparison_state = state.comparison
    comparisons = compare(history, analysis.compare, state=comparison_state, baseline=baseline)
    reasons.extend(c.reason() for c in comparisons)

    trends = analyse_trends(history, ctx, guardrails, analysis.trend, min_requests=analysis.min_requests)
    reasons.extend(t.reason() for t in trends if t.decision is not Decision.GO)

    stage_requests = _stage_requests(history, ctx.stage_index)
    needs = max(0, analysis.min_requests - stage_requests)
    data_reason, needs_human = _data_reason(stage_requests, ctx, analysis)
    if data_reason is not None:
        reasons.append(data_reason)

    breakdown = health_score(guardrails=statuses, comparisons=comparisons, trends=trends)
    score = breakdown.score
    decision = Decision.worst(*(r.decision for r in reasons))
    max_wait = ctx.hold_s + analysis.max_hold_extension
    hold_passed = ctx.elapsed_in_stage_s >= ctx.hold_s
    exhausted = ctx.elapsed_in_stage_s >= max_wait

    if decision is Decision.GO and not hold_passed:
        decision = Decision.OBSERVE
        reasons.append(
            Reason(
                check="hold",
                severity=Severity.INFO,
                decision=Decision.OBSERVE,
                message=f"holding the stage: {format_eta(ctx.hold_remaining_s)} of {format_eta(ctx.hold_s)} left",
                key="hold.waiting",
                params={"remaining_s": round(ctx.hold_remaining_s), "hold_s": round(ctx.hold_s)},
            )
        )
    elif decision is Decision.GO and score < analysis.score.pass_:
        # Inconclusive evidence resolves itself: the e-processes either cross (NO-GO) or fall back as
        # data within tolerance accumulate, and the score recovers. So hold on, without calling a person.
        decision = Decision.OBSERVE
        reasons.append(
            Reason(
                check="score",
                severity=Severity.WARNING,
                decision=Decision.OBSERVE,
                message=f"health score {score} below the pass mark {analysis.score.pass_}; holding longer",
                key="score.low",
                params={"score": score, "pass": analysis.score.pass_},
                threshold=float(analysis.score.pass_),
            )
        )
    elif decision is Decision.GO and (leaning := _leaning(comparisons, ctx)):
        # Before the step to all traffic: the data favour a regression over none (a Bayes factor above 1),
        # if not yet conclusively. Hold at this stage, where evidence comes fastest, until it resolves.
        # Each start's factor counts unweighted: a fault that began in this stage shows only in this
        # stage's restart, whose share of alpha is small but whose data lean as clearly. An earlier stage
        # is held only a little longer (EARLY_LEANING_HOLD), and only on the weighted e-value.
        # Past the longest hold it keeps holding (a NO-GO still rolls back, the evidence may still resolve),
        # but says so as a warning: the controller tells a person once, who may promote or roll back now.
        decision = Decision.OBSERVE
        worst = max(leaning, key=lambda c: _lean_value(c, ctx))
        overdue = ctx.promotes_fully and exhausted
        reasons.append(
            Reason(
                check=worst.check,
                severity=Severity.WARNING if overdue else Severity.INFO,
                decision=Decision.OBSERVE,
                message=f"evidence leans towards a regression ({worst.detail} e-value {_lean_value(worst, ctx):.2f} > 1); "
                + ("holding until it resolves" if ctx.promotes_fully else "holding a little longer before the next stage")
                + (" (past the longest hold: a person may promote or roll back now)" if overdue else ""),
                key="compare.leaning" if ctx.promotes_fully else "compare.leaning_early",
                params={"detail": worst.detail, "e_value": round(_lean_value(worst, ctx), 3), "overdue": overdue,
                        "tolerance": worst.tolerance},
                canary_value=worst.canary_value,
                control_value=worst.control_value,
                threshold=1.0,
                evidence=worst.evidence,
            )
        )
    elif decision is Decision.OBSERVE and exhausted:
        rising = [r for r in reasons if r.key == "trend.rising"]
        blocking = [r for r in reasons if r.decision is Decision.OBSERVE and r.key != "trend.rising"]
        if rising and not blocking:
            decision = Decision.NO_GO
            score = min(score, NO_GO_CAP)
            for reason in rising:
                reasons.append(
                    Reason(
                        check=reason.check,
                        severity=Severity.CRITICAL,
                        decision=Decision.NO_GO,
                        message=f"{reason.message}, still rising after the longest hold",
                        key="trend.persistent",
                        params=dict(reason.params),
                        canary_value=reason.canary_value,
                        threshold=reason.threshold,
                        evidence=reason.evidence,
                    )
                )

    extension = 0.0
    waiting_for_more = hold_passed or data_reason is not None
    if decision is Decision.OBSERVE and waiting_for_more and not exhausted:
        extension = max(0.0, max_wait - ctx.elapsed_in_stage_s)
    return Verdict(
        decision=decision,
        score=score,
        reasons=reasons,
        needs_requests=needs,
        hold_extension_s=extension,
        needs_human=needs_human and decision is Decision.OBSERVE,
    )
