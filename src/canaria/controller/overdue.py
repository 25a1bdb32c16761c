"""A stage held past its longest hold because the evidence leans towards a regression: tell a person, once.

Before the step to all traffic the judge holds a canary whose evidence leans towards a regression until the
evidence resolves (docs/judge.md), and that can outlast `analysis.max_hold_extension`. The controller keeps
holding — a NO-GO still rolls back, and the evidence may still resolve either way — but says so once per stage as
a warning that every channel gets, with what a person can do now (`canaria promote`, `canaria rollback`).
"""

from __future__ import annotations

from canaria.analysis.context import StageContext
from canaria.analysis.verdict import Reason, Verdict
from canaria.controller.events import Recorder
from canaria.i18n.text import msg, span
from canaria.i18n.text import reason as finding
from canaria.state.store import Rollout

__all__ = ["overdue_reason", "warn_overdue_hold_once"]


def overdue_reason(verdict: Verdict) -> Reason | None:
    """The judge's finding that it holds the step to all traffic past the longest hold, if it made one."""
    for reason in verdict.reasons:
        if reason.key == "compare.leaning" and reason.params.get("overdue"):
            return reason
    return None


async def warn_overdue_hold_once(ctrl: Recorder, rollout: Rollout, verdict: Verdict, ctx: StageContext) -> None:
    """Record `hold_overdue` the first time in this stage that the judge says its hold is past the longest."""
    found = overdue_reason(verdict)
    if found is None:
        return
    held_s, longest_s = ctx.elapsed_in_stage_s, ctx.hold_s + ctrl.config.analysis.max_hold_extension
    told = ctrl.store.events(rollout.id, kinds=("hold_overdue",))
    if any(event.data.get("stage_index") == rollout.stage_index for event in told):
        return
    await ctrl.record(
        "hold_overdue", rollout, severity="warning",
        data={"stage_index": rollout.stage_index, "traffic": rollout.traffic, "held_s": round(held_s),
              "longest_s": round(longest_s), "reason": found.to_dict()},
        text=msg("event.hold_overdue", traffic=f"{rollout.traffic:g}", held=span(held_s), longest=span(longest_s),
                 finding=finding(found.to_dict())),
    )
