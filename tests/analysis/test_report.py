"""Status reports in English and Korean, with the runbook's headline."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from canaria.analysis.context import StageContext
from canaria.analysis.judge import evaluate
from canaria.analysis.report import reason_text, snapshot, status_report
from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.config import AnalysisConfig, runbook_guardrails
from tests.analysis.builders import lognormal_variant, variant, window

AT = datetime(2025, 10, 22, 16, 15)


def _good() -> list:
    rng = np.random.default_rng(0)
    return [window(k, lognormal_variant(rng, 15, memory=56.0), lognormal_variant(rng, 285, memory=55.0))
            for k in range(9)]


def test_the_headline_is_the_runbooks_in_korean_and_english() -> None:
    verdict = Verdict(decision=Decision.GO, score=95, reasons=[])
    snap = snapshot(_good(), stages=4)
    ko = status_report(snap, verdict, next_check_at=AT, lang="ko").splitlines()
    en = status_report(snap, verdict, next_check_at=AT, lang="en").splitlines()
    assert ko[0] == "배포 상태: 정상 (점수: 95/100) · 권장 조치: 계속 진행 · 다음 점검: 16:15"
    assert en[0] == "Deployment status: normal (score: 95/100) · Recommended action: continue · Next check: 16:15"
    assert ko[1].startswith("1/4단계 · 카나리 5% · 최근 5분 요청 15건")
    assert ko[2].startswith("에러율: ") and "기존" in ko[2]
    assert ko[3].startswith("응답 시간: 평균 ") and "P95" in ko[3] and "P99" in ko[3]
    assert en[4].startswith("Memory: 56.0% (control 55.0%)") and en[4].endswith("Trend: stable")
    assert ko[4].endswith("추세: 안정")


def test_a_rollback_and_a_predicted_memory_breach_read_in_both_languages() -> None:
    history = [window(k, variant(30, errors=6, memory=60.0 + 1.5 * k), variant(270, memory=55.0)) for k in range(12)]
    ctx = StageContext(stage_index=0, traffic=10.0, hold_s=3600, elapsed_in_stage_s=3600, interval_s=300,
                       next_stage_hold_s=3600)
    verdict = evaluate(history, ctx, runbook_guardrails(), AnalysisConfig())
    assert verdict.decision is Decision.NO_GO
    ko = status_report(snapshot(history), verdict, next_check_at=AT, lang="ko")
    en = status_report(snapshot(history), verdict, next_check_at=AT, lang="en")
    assert ko.startswith("배포 상태: 위험 (점수: ") and "권장 조치: 즉시 롤백" in ko
    assert en.startswith("Deployment status: danger (score: ") and "Recommended action: roll back now" in en
    assert "메모리" in ko and "도달 예상" in ko and "predicted to cross 85%" in en
    assert "에러율" in ko.splitlines()[-1]


def test_observing_without_enough_data_says_how_many_more_requests() -> None:
    reason = Reason(check="data", severity=Severity.INFO, message="x", key="data.insufficient",
                    params={"have": 4, "need": 6}, decision=Decision.OBSERVE)
    verdict = Verdict(decision=Decision.OBSERVE, score=100, reasons=[reason], needs_requests=6)
    ko = status_report(snapshot([window(0, variant(4), variant(280))]), verdict, next_check_at=AT, lang="ko")
    assert "권장 조치: 추가 모니터링" in ko.splitlines()[0]
    assert reason_text(reason, "ko") == "카나리 요청 부족: 이번 단계 4건, 판단까지 6건 더 필요"
    assert reason_text(reason, "en") == "x"


def test_a_demo_with_second_long_holds_reads_in_seconds_not_zero_minutes() -> None:
    rng = np.random.default_rng(1)
    history = [window(k, lognormal_variant(rng, 15), lognormal_variant(rng, 285)) for k in range(3)]
    ctx = StageContext(stage_index=0, traffic=5.0, hold_s=30, elapsed_in_stage_s=18, interval_s=2)
    verdict = evaluate(history, ctx, runbook_guardrails(), AnalysisConfig())
    hold = next(r for r in verdict.reasons if r.key == "hold.waiting")
    assert hold.message == "holding the stage: 12 s of 30 s left"
    assert reason_text(hold, "ko") == "단계 유지 중: 30초 중 12초 남음"
    en = status_report(snapshot(history, period_s=20), verdict, next_check_at=AT, lang="en")
    ko = status_report(snapshot(history, period_s=20), verdict, next_check_at=AT, lang="ko")
    assert "in the last 20 s," in en and "0 min" not in en
    assert "최근 20초 요청" in ko and "0분" not in ko


def test_the_report_says_the_span_its_figures_cover_not_the_period_it_asked_for() -> None:
    rng = np.random.default_rng(2)
    history = [window(k, lognormal_variant(rng, 15), lognormal_variant(rng, 285), interval=2.0) for k in range(3)]
    ctx = StageContext(stage_index=0, traffic=5.0, hold_s=30, elapsed_in_stage_s=6, interval_s=2)
    verdict = evaluate(history, ctx, runbook_guardrails(), AnalysisConfig())
    en = status_report(snapshot(history, period_s=300), verdict, next_check_at=AT, lang="en")
    ko = status_report(snapshot(history, period_s=300), verdict, next_check_at=AT, lang="ko")
    assert "in the last 6 s," in en and "5 min" not in en  # a demo's 2 s windows, three of them
    assert "최근 6초 요청" in ko
