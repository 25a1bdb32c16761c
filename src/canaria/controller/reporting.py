"""The periodic status report ("배포 상태: 정상 (점수: 95/100) · 권장 조치: 계속 진행 · 다음 점검: 16:15").

The text itself is built by the pure `canaria.analysis.report`; this adapter gives it the clock's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from canaria.analysis.report import snapshot, status_report
from canaria.analysis.verdict import Decision, Verdict
from canaria.analysis.window import Window
from canaria.controller.events import Recorder
from canaria.controller.messages import in_every_language
from canaria.state.store import Rollout

__all__ = ["decision_severity", "report_if_due", "status_report_text"]


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
