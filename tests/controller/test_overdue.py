"""A canary held at the step to all traffic past its longest hold, because its evidence leans towards a
regression without settling: the controller keeps holding (the evidence may still resolve; a NO-GO still rolls
back) and tells a person once, as a warning every channel gets, with what they can do now."""

from __future__ import annotations

from pathlib import Path

from canaria.analysis.verdict import Decision
from canaria.config import parse_config
from canaria.controller.clock import FakeClock
from canaria.notify.event_text import event_text
from canaria.notify.sentence import decision_sentence
from canaria.runtime.app import open_app
from canaria.state.store import Rollout
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

CONFIG = URL_SERVICE + """analysis: {{interval: 1m, min_requests: 10, max_hold_extension: 2m}}
plan: {{stages: [{{traffic: 50, hold: 2m}}, {{traffic: 100, hold: 0}}]}}
"""


def leaning(weight: float, n: int):
    """4 canary errors in 200 (2 %) against 4 in 400 on control (1 %): above the tolerated 1.5 %, so the evidence
    leans, but too slowly to reject within the test (and 4 in 200 does not show the 1 % guardrail exceeded)."""
    return variant(400, errors=4), variant(200, errors=4)


def good(weight: float, n: int):
    return variant(400, errors=4), variant(200, errors=1)


def make(tmp_path: Path, fn):
    config = parse_config(CONFIG.format(state=tmp_path / "state"))
    return open_app(config, clock=FakeClock(), platform=FakePlatform(), metrics=FakeMetrics(fn))


async def test_a_leaning_hold_past_the_longest_hold_is_told_once_and_keeps_holding(tmp_path: Path) -> None:
    app = make(tmp_path, leaning)
    rollout: Rollout = await app.controller.run(max_ticks=8)
    assert rollout.phase == "progressing" and rollout.traffic == 50.0  # still holding, not paused, not promoted
    verdicts = app.store.verdicts(rollout.id)
    assert all(v.verdict.decision is Decision.OBSERVE for v in verdicts)
    leaning_reasons = [r for v in verdicts for r in v.verdict.reasons if r.key == "compare.leaning"]
    assert leaning_reasons and leaning_reasons[-1].params["overdue"] is True
    assert leaning_reasons[-1].severity.value == "warning"
    assert not leaning_reasons[0].params["overdue"]  # within the longest hold (2 min hold + 2 min) it is only info
    told = app.store.events(rollout.id, kinds=("hold_overdue",))
    assert len(told) == 1, [e.kind for e in app.store.events(rollout.id)]
    event = told[0]
    assert event.severity == "warning" and event.data["stage_index"] == 0 and event.data["held_s"] >= 240
    assert "held at 50% for 4 min, past the longest hold (4 min)" in event.message
    assert "`canaria promote` goes on now, `canaria rollback` stops" in event.message
    # the one-sentence text of the hold names the real tolerance (+50 %), not the leaning threshold
    sentence = decision_sentence(verdicts[-1].verdict, traffic=50.0, elapsed_s=None, lang="en")
    assert "allowed: stable + 50 %" in sentence, sentence
    assert event.text is not None and event.text["key"] == "event.hold_overdue"
    korean = event_text(event, "ko")
    assert "트래픽 50%에서 4분 동안 보류" in korean and "canaria rollback" in korean and "카나리 에러율 2.0 %, 기존 1.0 %; 허용: 기존 + 50%" in korean


async def test_a_good_canary_is_promoted_without_the_warning(tmp_path: Path) -> None:
    app = make(tmp_path, good)
    rollout = await app.controller.run(max_ticks=8)
    assert rollout.outcome == "promoted"
    assert not app.store.events(rollout.id, kinds=("hold_overdue",))
