"""The live panel keeps one height whatever it shows, and speaks in the one plain sentence."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.analysis.window import VariantWindow, Window
from canaria.config import parse_config
from canaria.controller.machine import TickResult
from canaria.notify.sentence import decision_sentence, display_severity
from canaria.state.store import Rollout, Store
from canaria.views.live import PANEL_LINES, RolloutView

CONFIG = """
service: my-api-with-a-long-name
state_dir: {state}
platform: {{kind: local, stable: {{command: "sleep 1", port: 9201}}, canary: {{command: "sleep 1", port: 9202}}}}
gateway: {{listen: 127.0.0.1:9203, admin_listen: 127.0.0.1:9204, admin_token: t0ken-for-tests}}
plan: {{stages: [{{traffic: 5, hold: 10s}}, {{traffic: 50, hold: 10s, approval: required}}, {{traffic: 100}}]}}
"""

NOGO = Verdict(Decision.NO_GO, 20, [Reason(
    check="compare.error_rate", severity=Severity.CRITICAL, decision=Decision.NO_GO,
    message="error rate 13.79% vs control 0.00% (tolerance +50%): regression beyond tolerance",
    key="compare.error_rate.regression", params={"detail": "error_rate", "tolerance": 0.5},
    canary_value=13.79, control_value=0.0, threshold=0.5, evidence="4/29 canary vs 0/430 control errors")])
HOLD = Verdict(Decision.OBSERVE, 95, [Reason(
    check="hold", severity=Severity.INFO, decision=Decision.OBSERVE, message="holding the stage: 1 s of 1 s left",
    key="hold.waiting", params={"remaining_s": 6, "hold_s": 10})])


def rollout(phase: str, *, active: bool = True, stage: int = 0, traffic: float = 5.0) -> Rollout:
    return Rollout(id="r-1", service="my-api-with-a-long-name", phase=phase, stage_index=stage, traffic=traffic,
                   active=active, created_at=1000.0, updated_at=1030.0, stage_started_at=1004.0)


def window() -> Window:
    return Window(start=1026.0, end=1030.0, control=VariantWindow(requests=430), canary=VariantWindow(requests=29,
                  errors=4), canary_weight=5.0)


@pytest.mark.parametrize(("phase", "active", "verdict"), [
    ("progressing", True, HOLD), ("awaiting_approval", True, HOLD), ("rolled_back", False, NOGO),
    ("paused", True, None)])
@pytest.mark.parametrize("width", [80, 160])
def test_panel_has_one_height_and_fits(tmp_path: Path, phase: str, active: bool, verdict: Verdict | None,
                                       width: int) -> None:
    config = parse_config(CONFIG.format(state=tmp_path))
    view = RolloutView(config, Store(tmp_path / "s.db"), lang="en", stream=io.StringIO(), live=False)
    panel = view.render(TickResult(rollout=rollout(phase, active=active), window=window(), verdict=verdict))
    console = Console(file=io.StringIO(), width=width, height=24, color_system=None)
    console.print(panel)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == PANEL_LINES + 2 <= 20
    assert all(len(line) <= width for line in lines)
    text = "\n".join(lines)
    if not active:
        assert "hold" not in text.split("Rolled back")[0].lower()  # no stale "hold left" after the rollback
    if phase == "awaiting_approval":
        assert "canaria approve" in text


def test_one_plain_sentence_per_decision() -> None:
    assert decision_sentence(NOGO, traffic=5, elapsed_s=34, lang="en") == \
        "Rolled back at 5 % after 34 s: canary errors 13.8 % vs stable 0.0 %; allowed: stable + 50 %"
    assert decision_sentence(HOLD, traffic=5, elapsed_s=4, lang="en") == \
        "Holding at 5 %: 6 s of the 10 s hold left, nothing wrong so far"
    assert decision_sentence(NOGO, traffic=5, elapsed_s=94, lang="ko").startswith("카나리 5%에서 1분 34초 만에 롤백: ")


def test_a_normal_hold_is_information_not_a_warning() -> None:
    assert display_severity("decision", "warning", HOLD.to_dict()) == "info"
    suspect = Verdict(Decision.OBSERVE, 70, [Reason(check="compare.p95", severity=Severity.WARNING,
                                                    decision=Decision.OBSERVE, message="leaning worse")])
    assert display_severity("decision", "warning", suspect.to_dict()) == "warning"


def test_waiting_for_requests_says_how_many_more() -> None:
    waiting = Verdict(Decision.OBSERVE, 90, [Reason(
        check="data", severity=Severity.INFO, decision=Decision.OBSERVE, message="not enough canary traffic",
        key="data.insufficient", params={"have": 5, "need": 3})])
    assert decision_sentence(waiting, traffic=5, elapsed_s=3, lang="en") == \
        "Holding at 5 %: waiting for canary requests (5 so far, 3 more needed)"
