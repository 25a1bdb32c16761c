"""The periodic status report (every `report.every`), in English or Korean, as the runbook's monitor gives it:

    배포 상태: 정상 (점수: 95/100) · 권장 조치: 계속 진행 · 다음 점검: 16:15

followed by requests, error rate, mean and percentile response, memory and CPU, the trend, and why. Pure:
the figures come from the window history, the judgement from the verdict, and the time is passed in, so the
controller, the simulator and tests print the same text. Reasons are rendered from their `key` + `params`
(English falls back to the reason's own message).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.analysis.window import VariantWindow, Window
from canaria.i18n.spans import format_span

__all__ = ["StatusSnapshot", "reason_text", "snapshot", "status_report"]

LANGS = ("en", "ko")


@dataclass(frozen=True)
class StatusSnapshot:
    """The figures a report quotes: the canary over the last period, with control beside it."""

    stage_index: int
    stages: int | None
    traffic: float
    period_s: float
    period_requests: int
    stage_requests: int
    canary: VariantWindow  # merged over the period
    control: VariantWindow


def snapshot(
    history: Sequence[Window], *, period_s: float = 300.0, stages: int | None = None
) -> StatusSnapshot:
    """Merge the windows that ended within `period_s` of the latest one (at least the latest)."""
    if not history:
        return StatusSnapshot(0, stages, 0.0, period_s, 0, 0, VariantWindow(), VariantWindow())
    latest = history[-1]
    recent = [w for w in history if w.end > latest.end - period_s] or [latest]
    canary, control = VariantWindow(), VariantWindow()
    for window in recent:
        canary, control = canary.merge(window.canary), control.merge(window.control)
    stage_requests = sum(w.canary.requests for w in history if w.stage_index == latest.stage_index)
    return StatusSnapshot(
        stage_index=latest.stage_index,
        stages=stages,
        traffic=latest.canary_weight,
        period_s=min(period_s, latest.end - min(w.start for w in recent)),  # what the figures cover, not the ask
        period_requests=canary.requests,
        stage_requests=stage_requests,
        canary=canary,
        control=control,
    )


_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "headline": "Deployment status: {state} (score: {score}/100) · Recommended action: {action} · Next check: {at}",
        "normal": "normal", "caution": "caution", "danger": "danger",
        "continue": "continue", "observe": "keep monitoring", "human": "a person must decide",
        "rollback": "roll back now",
        "stage": "Stage {stage}{of} · canary {traffic:g}% · {period} requests in the last {span}, {total} in this stage",
        "errors": "Error rate: {canary} (control {control})",
        "latency": "Response: mean {mean} · P50 {p50} · P95 {p95} · P99 {p99} (control P95 {control_p95})",
        "saturation": "Memory: {memory} (control {control_memory}) · CPU {cpu} · Trend: {trend}",
        "stable": "stable", "why": "Why: ", "na": "n/a",
    },
    "ko": {
        "headline": "배포 상태: {state} (점수: {score}/100) · 권장 조치: {action} · 다음 점검: {at}",
        "normal": "정상", "caution": "주의", "danger": "위험",
        "continue": "계속 진행", "observe": "추가 모니터링", "human": "담당자 판단 필요", "rollback": "즉시 롤백",
        "stage": "{stage}{of}단계 · 카나리 {traffic:g}% · 최근 {span} 요청 {period}건, 이번 단계 {total}건",
        "errors": "에러율: {canary} (기존 {control})",
        "latency": "응답 시간: 평균 {mean} · P50 {p50} · P95 {p95} · P99 {p99} (기존 P95 {control_p95})",
        "saturation": "메모리: {memory} (기존 {control_memory}) · CPU {cpu} · 추세: {trend}",
        "stable": "안정", "why": "판단 근거: ", "na": "없음",
    },
}

_METRIC_KO = {
    "error_rate_pct": "에러율", "p50_ms": "P50 응답", "p95_ms": "P95 응답", "p99_ms": "P99 응답",
    "mean_ms": "평균 응답", "memory_pct": "메모리", "cpu_pct": "CPU", "error_rate": "에러율",
    "slow_share": "목표보다 느린 요청", "p50": "P50", "p95": "P95", "p99": "P99",
}
_UNIT = {"error_rate_pct": "%", "memory_pct": "%", "cpu_pct": "%"}


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    digits = 0 if unit == "ms" else 1
    return f"{float(value):.{digits}f}{unit}"


def _ko_reason(reason: Reason) -> str | None:
    """Korean text for the judge's reason keys; None when the key has no template."""
    p = reason.params
    metric = str(p.get("metric", p.get("detail", "")))
    name = _METRIC_KO.get(metric, _METRIC_KO.get(metric.removesuffix("_ms"), metric))
    unit = _UNIT.get(metric, "ms" if metric.endswith("_ms") else "")
    key = reason.key
    if key == "guardrail.breached":
        return f"{name} {_num(p.get('value'), unit)} > {p.get('max'):g}{unit}, {p.get('streak')}회 연속"
    if key == "guardrail.streak":
        return f"{name} {_num(p.get('value'), unit)} > {p.get('max'):g}{unit} ({p.get('streak')}/{p.get('consecutive')}회 연속)"
    if key == "guardrail.warning":
        return f"{name} {_num(p.get('value'), unit)} > 목표 {p.get('max'):g}{unit}"
    if key.startswith("compare."):
        what = "에러율" if key.startswith("compare.error_rate") else f"응답 시간({name})"
        evidence = f"증거 {p.get('e_value', 0):.3g} / 기준 {p.get('reject_at', 0):.0f}"
        if key.endswith(".regression"):
            return f"{what}: 기존 버전 대비 허용 범위(+{p.get('tolerance', 0):.0%})를 넘는 악화 ({evidence})"
        if key.endswith(".suspect"):
            return f"{what}: 기존 버전보다 나빠 보이나 아직 결론 전 ({evidence})"
        if key == "compare.leaning":
            overdue = " · 최대 보류 시간 경과: 지금 사람이 진행 또는 롤백을 결정할 수 있음" if p.get("overdue") else ""
            return f"{name}: 증거가 악화 쪽으로 기울어 전체 배포 전 추가 관찰 (증거 {p.get('e_value', 0):.3g} > 1){overdue}"
        if key == "compare.leaning_early":
            return f"{name}: 증거가 악화 쪽으로 기울어 다음 단계 전 잠시 추가 관찰 (증거 {p.get('e_value', 0):.3g} > 1)"
        return f"{what}: 허용 범위 이내 ({evidence})"
    if key in ("trend.breach_predicted", "trend.rising", "trend.persistent"):
        rate = f"시간당 {abs(p.get('slope_per_h', 0)):.1f}{unit} 증가"
        eta = None if p.get("eta_s") is None else format_span(float(p["eta_s"]), "ko")
        text = f"{name} {_num(p.get('level'), unit)} {rate}"
        if key == "trend.breach_predicted":
            return f"{text}, {eta} 후 {p.get('limit'):g}{unit} 도달 예상"
        if key == "trend.persistent":
            return f"{text}, 최장 대기 후에도 계속 증가"
        return f"{text}" + (f" ({eta} 후 {p.get('limit'):g}{unit} 도달 예상)" if eta else "")
    if key == "data.insufficient":
        return f"카나리 요청 부족: 이번 단계 {p.get('have')}건, 판단까지 {p.get('need')}건 더 필요"
    if key == "data.exhausted":
        return f"카나리 요청 부족: {p.get('have')}건, 최장 대기 도달 — 담당자 판단 필요"
    if key == "data.fail":
        return f"데이터 없음: 카나리 요청 {p.get('have')}건 (필요 {p.get('need')}건), no_data=fail 정책"
    if key == "data.pass":
        return f"데이터 없음: 카나리 요청 {p.get('have')}건, no_data=pass 정책으로 진행"
    if key == "hold.waiting":
        return f"단계 유지 중: {format_span(p.get('hold_s', 0), 'ko')} 중 {format_span(p.get('remaining_s', 0), 'ko')} 남음"
    if key == "score.low":
        return f"건강 점수 {p.get('score')}점, 통과 기준 {p.get('pass')}점 미만 — 추가 관찰"
    return None


def reason_text(reason: Reason, lang: str = "en") -> str:
    if lang == "ko":
        return _ko_reason(reason) or reason.message
    return reason.message


def _state(verdict: Verdict, pass_mark: int) -> tuple[str, str]:
    """(state, action): the state from how worrying the findings are, the action from the decision."""
    if verdict.decision is Decision.NO_GO:
        return "danger", "rollback"
    worrying = any(r.severity in (Severity.WARNING, Severity.CRITICAL) for r in verdict.reasons)
    state = "caution" if worrying or verdict.score < pass_mark else "normal"
    if verdict.needs_human:
        return "caution", "human"
    holding_only = all(r.key == "hold.waiting" for r in verdict.reasons if r.decision is Decision.OBSERVE)
    if verdict.decision is Decision.GO or holding_only:
        return state, "continue"
    return state, "observe"


def _why(verdict: Verdict, lang: str, limit: int = 3) -> list[str]:
    order = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.OK: 3}
    ranked = sorted(verdict.reasons, key=lambda r: (order[r.severity], r.decision is not verdict.decision))
    return [reason_text(r, lang) for r in ranked[:limit]]


def _trend(verdict: Verdict, lang: str) -> str:
    trends = [r for r in verdict.reasons if r.check.startswith("trend.")]
    if not trends:
        return _TEXT[lang]["stable"]
    worst = min(trends, key=lambda r: (r.severity is not Severity.CRITICAL, r.check))
    return reason_text(worst, lang)


def status_report(
    snap: StatusSnapshot,
    verdict: Verdict,
    *,
    next_check_at: datetime,
    lang: str = "en",
    pass_mark: int = 80,
) -> str:
    """The report text: a headline line as in the runbook, then the figures and the reasons."""
    text = _TEXT[lang if lang in LANGS else "en"]
    lang = lang if lang in LANGS else "en"
    state, action = _state(verdict, pass_mark)
    canary, control = snap.canary, snap.control

    def pct(rate: float | None) -> str:
        return text["na"] if rate is None else f"{rate * 100:.2f}%"

    def ms(value: float | None) -> str:
        return text["na"] if value is None else f"{value:.0f}ms" if lang == "ko" else f"{value:.0f} ms"

    def gauge(value: float | None) -> str:
        return text["na"] if value is None else f"{value:.1f}%"

    lines = [
        text["headline"].format(
            state=text[state], score=verdict.score, action=text[action], at=next_check_at.strftime("%H:%M")
        ),
        text["stage"].format(
            stage=snap.stage_index + 1,
            of=f"/{snap.stages}" if snap.stages else "",
            traffic=snap.traffic,
            period=snap.period_requests,
            span=format_span(snap.period_s, lang),
            total=snap.stage_requests,
        ),
        text["errors"].format(canary=pct(canary.error_rate), control=pct(control.error_rate)),
        text["latency"].format(
            mean=ms(canary.mean_ms), p50=ms(canary.p50_ms), p95=ms(canary.p95_ms), p99=ms(canary.p99_ms),
            control_p95=ms(control.p95_ms),
        ),
        text["saturation"].format(
            memory=gauge(canary.memory_pct), control_memory=gauge(control.memory_pct), cpu=gauge(canary.cpu_pct),
            trend=_trend(verdict, lang),
        ),
    ]
    why = _why(verdict, lang)
    if why:
        lines.append(text["why"] + " · ".join(why))
    return "\n".join(lines)
