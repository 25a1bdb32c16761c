"""The periodic status report ("배포 상태: 정상 (점수: 95/100) · 권장 조치: 계속 진행 · 다음 점검: 16:15")."""

from __future__ import annotations

from datetime import datetime

from canaria.analysis.verdict import Verdict
from canaria.analysis.window import Window
from canaria.i18n import t

__all__ = ["status_report_text"]


def status_report_text(window: Window, verdict: Verdict, *, next_check_at: float, lang: str) -> str:
    summary = window.canary.summary(window.duration_s)
    control = window.control.summary(window.duration_s)
    state = t(f"report.state.{verdict.decision.value}", lang)
    action = t(f"report.action.{verdict.decision.value}", lang)
    when = datetime.fromtimestamp(next_check_at).strftime("%H:%M:%S")

    def fmt(value: float | None, unit: str) -> str:
        return "n/a" if value is None else f"{value:g}{unit}"

    figures = t(
        "report.figures",
        lang,
        requests=summary["requests"],
        control_requests=control["requests"],
        error=fmt(summary["error_rate_pct"], "%"),
        mean=fmt(summary["mean_ms"], " ms"),
        p50=fmt(summary["p50_ms"], " ms"),
        p95=fmt(summary["p95_ms"], " ms"),
        p99=fmt(summary["p99_ms"], " ms"),
        memory=fmt(summary["memory_pct"], "%"),
    )
    head = t("report.line", lang, state=state, score=verdict.score, action=action, next=when)
    return f"{head} · {figures}"
