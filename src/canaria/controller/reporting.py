"""What the controller says about each verdict: the verdict recorded, a `decision` event when the decision
changes, the periodic status report ("배포 상태: 정상 (점수: 95/100) · 권장 조치: 계속 진행 · 다음 점검: 16:15"),
the memory-leak playbook's restart offer and the warning of a hold past the longest hold.

The report's text is built by the pure `canaria.analysis.report`; this adapter gives it the clock's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from canaria.analysis.context import StageContext
from canaria.analysis.report import snapshot, status_report
from canaria.analysis.verdict import Decision, Verdict
from canaria.analysis.window import Window
from canaria.controller.events import Recorder
from canaria.controller.messages import in_every_language, verdict_headline
from canaria.controller.overdue import warn_overdue_hold_once
from canaria.controller.playbook import offer_restart_once
from canaria.i18n.text import msg
from canaria.state.store import Rollout

__all__ = ["decision_severity", "report_if_due", "status_report_text", "tell_verdict"]


def status_report_text(window: Window, verdict: Verdict, *, next_check_at: float, lang: str,
                       history: Sequence[Window] | None = None, period_s: float = 300.0, stages: int | None = None,
                       pass_mark: int = 80) -> str:
    windows = list(history) if history else [window]
    return status_report(snapshot(windows, period_s=period_s, stages=stages), verdict,
                         next_check_at=datetime.fromtimestamp(next_check_at), lang=lang, pass_mark=pass_mark)


def decision_severity(verdict: Verdict) -> str:
    return {"GO": "info", "OBSERVE": "warning", "NO-GO": "critical"}[verdict.decision.value]


async def report_if_due(ctrl: Recorder, rollout: Rollout, history: list[Window], verdict: Verdict) -> None:
    """Record the status report every `report.every` (and always at a NO-GO), written in every language."""
    now = ctrl.clock.now()
    config = ctrl.config
    every = config.report.every
    final = verdict.decision is Decision.NO_GO  # the state at a rollback is always reported
    if not final and rollout.last_report_at is not None and now - rollout.last_report_at < every:
        return
    window = history[-1]
    text = in_every_language(lambda lang: status_report_text(
        window, verdict, next_check_at=now + config.analysis.interval, lang=lang, history=history,
        period_s=every, stages=len(config.plan.stages), pass_mark=config.analysis.score.pass_))
    ctrl.store.update_rollout(rollout.id, now=now, last_report_at=now)
    await ctrl.record("status_report", rollout, text=text, data={"score": verdict.score,
                      "decision": verdict.decision.value, "window": window.to_dict()})


async def tell_verdict(ctrl: Recorder, rollout: Rollout, history: list[Window], verdict: Verdict,
                       ctx: StageContext, *, at: float) -> None:
    """Record this tick's verdict (made at `at`) and everything it tells people (see the module docstring)."""
    earlier = ctrl.store.verdicts(rollout.id, last=1)
    ctrl.store.add_verdict(rollout.id, verdict, at=at, stage_index=rollout.stage_index,
                           traffic=rollout.traffic)
    if not earlier or earlier[-1].verdict.decision is not verdict.decision:
        await ctrl.record("decision", rollout, severity=decision_severity(verdict),
                          text=msg("event.decision", decision=verdict.decision.value, score=verdict.score,
                                   headline=verdict_headline(verdict)), data=verdict.to_dict())
    await report_if_due(ctrl, rollout, history, verdict)
    await offer_restart_once(ctrl, rollout, verdict)
    await warn_overdue_hold_once(ctrl, rollout, verdict, ctx)
