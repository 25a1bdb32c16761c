"""Every event the controller records says itself in both languages: a catalogue key and parameters beside the
English message, which is exactly that text in English; Korean readers get Korean, nested reasons included."""

from __future__ import annotations

import re
from pathlib import Path

from canaria.controller.actions import Operator
from canaria.i18n.text import render
from canaria.notify.event_text import event_text, rollout_reason
from canaria.state.store import Event
from canaria.web.views import status_json
from tests.controller.test_machine import erroring, healthy, make

_LATIN_WORDS = re.compile(r"\b(?:canary|rollout|rolling|rolled|approval|needed|promoting|stable|traffic|stage|"
                          r"metrics|unavailable|checks|started|paused|resumed|operator)\b")


def _assert_both_languages(events: list[Event]) -> None:
    keyed = [e for e in events if e.text is not None]
    assert keyed, "no event carries a text"
    for event in keyed:
        assert render(event.text, "en") == event.message, event.kind  # the English message is the text in English
        korean = event_text(event, "ko")
        assert korean and korean != event.message, (event.kind, korean)
        leftover = _LATIN_WORDS.findall(korean.replace("`canaria approve`", ""))
        assert not leftover, (event.kind, korean, leftover)


async def test_a_rollback_reads_in_korean_from_start_to_end(tmp_path: Path) -> None:
    app, _, _ = make(tmp_path, erroring)
    app.config.analysis.compare.enabled = False  # the runbook's rule: error rate > 1% on 3 consecutive checks
    rollout = await app.controller.run()
    events = app.store.events(rollout.id)
    kinds = {e.kind for e in events if e.text}
    assert {"rollout_started", "stage_advanced", "decision", "rollback_started", "rollback_finished"} <= kinds
    _assert_both_languages(events)
    started = next(e for e in events if e.kind == "rollback_started")
    assert started.message == "rolling back: error rate 10.0% > 1% on 3 consecutive checks"  # unchanged words
    assert event_text(started, "ko").startswith("롤백 중: 카나리 에러율 10.0 %")  # the plain finding, in Korean
    assert rollout_reason(events, rollout.reason, "en") == rollout.reason
    assert rollout_reason(events, rollout.reason, "ko").startswith("카나리 에러율 10.0 %")
    status = status_json(app.config, app.store, rollout, now=0.0)  # the dashboard's banner, per language
    assert status["reason"] == rollout.reason and status["reason_texts"]["en"] == rollout.reason
    assert status["reason_texts"]["ko"].startswith("카나리 에러율 10.0 %")
    await app.close()


async def test_approval_gate_timeout_and_operator_words_in_korean(tmp_path: Path) -> None:
    app, _, _ = make(tmp_path, healthy, extra="plan: {approval_timeout: 10m, stages: [{traffic: 5, hold: 10m}, "
                                              "{traffic: 50, hold: 10m, approval: required}, {traffic: 100}]}\n")
    ctrl = app.controller
    rollout = await ctrl.run()
    assert rollout.outcome == "aborted"
    events = app.store.events(rollout.id)
    _assert_both_languages(events)
    gate = next(e for e in events if e.kind == "approval_needed")
    assert gate.message == "approval needed to go to 50%: run `canaria approve`"
    assert event_text(gate, "ko") == "50%로 가려면 승인이 필요합니다: `canaria approve` 실행"
    finished = next(e for e in events if e.kind == "rollback_finished")
    assert finished.message == "rolled back: all traffic on stable (approval not given within 600 s)"
    assert event_text(finished, "ko") == "롤백 완료: 모든 트래픽이 안정 버전으로 갑니다 (600초 안에 승인이 없었습니다)"

    second = await ctrl.start()
    operator = Operator(ctrl, actor="lubit")
    await operator.pause()
    await operator.resume(reason="DB 점검 끝")  # an operator's own words stay as they are
    await operator.rollback()
    events = app.store.events(second.id)
    by_kind = {e.kind: e for e in events}
    assert event_text(by_kind["paused"], "ko") == "운영자가 일시 중지함"
    assert event_text(by_kind["resumed"], "ko") == by_kind["resumed"].message == "DB 점검 끝"
    assert event_text(by_kind["rollback_started"], "ko") == "롤백 중: 운영자가 롤백함"
    await app.close()


async def test_metrics_outage_and_errors_with_keys(tmp_path: Path) -> None:
    from canaria.errors import MetricsError, PortInUseError

    def broken(weight: float, n: int):
        raise MetricsError("prometheus at http://127.0.0.1:9 did not answer")

    app, _, _ = make(tmp_path, broken, extra="analysis: {interval: 5m, min_requests: 10, on_metrics_error: rollback}\n")
    rollout = await app.controller.run(max_ticks=10)
    assert rollout.outcome == "aborted"
    events = app.store.events(rollout.id)
    error = next(e for e in events if e.kind == "controller_error")
    assert error.message == "metrics unavailable: prometheus at http://127.0.0.1:9 did not answer"
    assert event_text(error, "ko") == "메트릭을 읽을 수 없습니다: prometheus at http://127.0.0.1:9 did not answer"
    assert event_text(next(e for e in events if e.kind == "rollback_started"), "ko").startswith(
        "롤백 중: 3회 연속 메트릭을 읽을 수 없습니다")
    taken = PortInUseError("127.0.0.1", 8000)
    assert render(taken.text, "en") == str(taken)
    assert render(taken.text, "ko").startswith("127.0.0.1의 8000번 포트를 이미 쓰고 있습니다")
    await app.close()


def test_an_old_event_without_text_still_displays() -> None:
    old = Event(1, "r", 0.0, "stage_advanced", "info", "canaria", "canary at 5% (stage 1/4)", {})
    assert event_text(old, "ko") == event_text(old, "en") == "canary at 5% (stage 1/4)"


async def test_the_why_level_speaks_korean_too(tmp_path: Path) -> None:
    """The findings under the sentence (dashboard bullets, live view 'why', report decisions) in Korean."""
    from canaria.notify.sentence import why_lines
    from canaria.web.views import verdict_json

    app, _, _ = make(tmp_path, erroring)
    rollout = await app.controller.run()
    stored = app.store.verdicts(rollout.id)[-1]
    english = why_lines(stored.verdict, lang="en")
    korean = why_lines(stored.verdict, lang="ko")
    assert english and len(korean) == len(english) and korean != english
    assert all("카나리" in line or "대기" in line or "기존" in line for line in korean), korean
    bullets = [r["text"] for r in verdict_json(stored)["reasons"]]
    assert [b["en"] for b in bullets] == [r.message for r in stored.verdict.reasons]
    assert all(b["ko"] != b["en"] for b in bullets if b["en"]), bullets
    await app.close()
