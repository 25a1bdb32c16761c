"""The controller's reconcile logic over a whole plan, with a fake clock: hours in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.controller.actions import Operator
from canaria.controller.clock import FakeClock
from canaria.errors import PlatformError, RolloutActiveError, StateError, UsageError
from canaria.runtime.app import open_app
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

CONFIG = URL_SERVICE + """analysis: {{interval: 5m, min_requests: 10}}
"""


def make(tmp_path: Path, fn, extra: str = ""):
    config = parse_config(CONFIG.format(state=tmp_path / "state") + extra)
    platform = FakePlatform()
    metrics = FakeMetrics(fn)
    clock = FakeClock()
    app = open_app(config, clock=clock, platform=platform, metrics=metrics)
    return app, platform, clock


def healthy(weight: float, n: int):
    return variant(200), variant(max(12, int(weight * 3)), rng=None)


def erroring(weight: float, n: int):
    canary_requests = 40
    return variant(200), variant(canary_requests, errors=4)


async def test_good_canary_walks_the_runbook_plan_to_approval_then_promotes(tmp_path: Path) -> None:
    app, platform, clock = make(tmp_path, healthy)
    ctrl = app.controller
    rollout = await ctrl.run(max_ticks=40)
    assert rollout.phase == "awaiting_approval"
    assert rollout.traffic == 10
    assert "weight 5" in platform.calls and "weight 10" in platform.calls
    # an hour per stage, checked every 5 minutes: 12 ticks per stage
    kinds = [e.kind for e in app.store.events(rollout.id)]
    assert kinds.count("stage_advanced") == 2 and "approval_needed" in kinds
    result = await Operator(ctrl, actor="lubit").approve()
    assert result.rollout is not None and result.rollout.traffic == 50
    final = await ctrl.run()
    assert final.phase == "succeeded" and final.outcome == "promoted"
    assert platform.calls[-1] == "promote"
    approved = [e for e in app.store.events(rollout.id) if e.kind == "approved"]
    assert approved and approved[0].actor == "lubit"
    await app.close()


async def test_error_rate_rolls_back_after_three_consecutive_checks(tmp_path: Path) -> None:
    app, platform, clock = make(tmp_path, erroring)
    app.config.analysis.compare.enabled = False  # the runbook's rule alone
    rollout = await app.controller.run()
    assert rollout.phase == "rolled_back" and rollout.outcome == "rolled_back"
    assert rollout.reason == "error rate 10.0% > 1% on 3 consecutive checks"
    assert len(app.store.windows(rollout.id)) == 3
    assert platform.weight == 0 and "rollback" in platform.calls
    await app.close()


async def test_comparison_with_control_rolls_back_sooner_than_the_rule(tmp_path: Path) -> None:
    app, platform, _ = make(tmp_path, erroring)
    rollout = await app.controller.run()
    assert rollout.outcome == "rolled_back" and platform.weight == 0
    assert len(app.store.windows(rollout.id)) < 3  # evidence against control, before three checks
    assert "vs control" in (rollout.reason or "") and "e-value" in (rollout.reason or "")
    await app.close()


async def test_memory_rolls_back_after_two_checks(tmp_path: Path) -> None:
    app, platform, _ = make(tmp_path, lambda w, n: (variant(100), variant(20, memory=91.0)))
    rollout = await app.controller.run()
    assert rollout.outcome == "rolled_back"
    assert "memory 91.0% > 85%" in (rollout.reason or "")
    assert len(app.store.windows(rollout.id)) == 2
    await app.close()


async def test_no_data_never_passes_and_pauses_after_longest_hold(tmp_path: Path) -> None:
    app, platform, _ = make(tmp_path, lambda w, n: (variant(100), variant(0)))
    rollout = await app.controller.run(max_ticks=50)
    assert rollout.phase == "paused"
    assert rollout.traffic == 5  # never advanced on no evidence
    verdicts = app.store.verdicts(rollout.id)
    assert all(v.verdict.decision.value != "GO" for v in verdicts)
    assert "more needed" in (rollout.reason or "")
    await app.close()


async def test_no_data_policy_fail_rolls_back(tmp_path: Path) -> None:
    app, _, _ = make(tmp_path, lambda w, n: (variant(100), variant(0)))
    app.config.analysis.no_data = "fail"
    rollout = await app.controller.run(max_ticks=50)
    assert rollout.outcome == "rolled_back" and "no data" in (rollout.reason or "")
    await app.close()


async def test_dead_canary_is_a_no_go_with_its_reason(tmp_path: Path) -> None:
    app, platform, _ = make(tmp_path, healthy)
    await app.controller.start()
    platform.problem = "canary process exited with code 1"
    result = await app.controller.tick()
    assert result is not None and result.rollout.outcome == "rolled_back"
    assert result.rollout.reason == "canary process exited with code 1"
    await app.close()


async def test_canary_that_fails_to_start_rolls_back_without_moving_traffic(tmp_path: Path) -> None:
    app, platform, _ = make(tmp_path, healthy)
    platform.start_error = PlatformError("canary process exited with code 1")
    rollout = await app.controller.start()
    assert rollout.phase == "rolled_back" and "exited with code 1" in (rollout.reason or "")
    assert "weight 5" not in platform.calls
    await app.close()


async def test_operator_actions_follow_the_transition_table(tmp_path: Path) -> None:
    app, platform, _ = make(tmp_path, healthy)
    op = Operator(app.controller, actor="sena")
    with pytest.raises(StateError):
        await op.approve()
    assert (await op.rollback()).message == "nothing to roll back"
    await app.controller.start()
    with pytest.raises(StateError, match="approval gate"):
        await op.approve()
    paused = await op.pause(reason="checking logs")
    assert paused.rollout is not None and paused.rollout.phase == "paused"
    with pytest.raises(StateError):
        await op.approve()
    resumed = await op.resume()
    assert resumed.rollout is not None and resumed.rollout.phase == "progressing"
    moved = await op.promote()
    assert moved.rollout is not None and moved.rollout.traffic == 10
    with pytest.raises(UsageError):
        await op.enable_canary(150, lock=app.lock)
    assert platform.weight == 10
    dry = await op.rollback(dry_run=True)
    assert dry.steps and platform.weight == 10
    done = await op.rollback(reason="manual test")
    assert done.rollout is not None and done.rollout.outcome == "aborted" and platform.weight == 0
    events = app.store.events(done.rollout.id)
    assert any(e.actor == "sena" and e.kind == "rollback_started" and "manual test" in e.message for e in events)
    await app.close()


async def test_second_rollout_for_the_same_service_is_refused(tmp_path: Path) -> None:
    app, _, _ = make(tmp_path, healthy)
    await app.controller.start()
    with pytest.raises(RolloutActiveError):
        app.store.create_rollout(service="ion-api", now=0, plan={})
    await app.close()


async def test_restart_continues_at_the_same_stage(tmp_path: Path) -> None:
    app, platform, clock = make(tmp_path, healthy)
    await app.controller.run(max_ticks=14)  # into stage 2
    before = app.controller.active()
    assert before is not None and before.stage_index == 1
    await app.close()
    # a new controller process on the same store picks up where the other stopped
    config = app.config
    app2 = open_app(config, clock=clock, platform=platform, metrics=FakeMetrics(healthy))
    after = app2.controller.active()
    assert after is not None and after.id == before.id and after.stage_index == 1 and after.traffic == 10
    await app2.controller.run(max_ticks=1)
    assert app2.controller.active().stage_index == 1  # type: ignore[union-attr]
    await app2.close()


async def test_status_report_recorded_every_report_interval(tmp_path: Path) -> None:
    app, _, _ = make(tmp_path, healthy)
    rollout = await app.controller.run(max_ticks=6)
    reports = app.store.events(rollout.id, kinds=("status_report",))
    assert len(reports) == 6
    assert "score" in reports[0].message and "Next check" in reports[0].message
    await app.close()


class BrokenMetrics(FakeMetrics):
    async def read_window(self, **kwargs):  # type: ignore[override]
        from canaria.errors import MetricsError

        raise MetricsError("Prometheus at http://127.0.0.1:9 is unreachable")


@pytest.mark.parametrize(("policy", "phase"), [("pause", "paused"), ("rollback", "rolled_back")])
async def test_metrics_outage_holds_then_applies_the_fail_safe(tmp_path: Path, policy: str, phase: str) -> None:
    config = parse_config(CONFIG.format(state=tmp_path / "state"))
    config.analysis.on_metrics_error = policy  # type: ignore[assignment]
    platform = FakePlatform()
    app = open_app(config, clock=FakeClock(), platform=platform, metrics=BrokenMetrics(healthy))
    await app.controller.start()
    for _ in range(2):
        result = await app.controller.tick()
        assert result is not None and result.rollout.phase == "progressing" and platform.weight == 5
    result = await app.controller.tick()
    assert result is not None and result.rollout.phase == phase
    assert "promote" not in platform.calls
    assert "metrics unavailable on 3 consecutive checks" in (result.rollout.reason or "")
    await app.close()


async def test_resume_after_a_no_data_pause_waits_again_and_goes_on_when_traffic_comes(tmp_path: Path) -> None:
    traffic = {"canary": 0}
    app, platform, _ = make(tmp_path, lambda w, n: (variant(100), variant(traffic["canary"])))
    rollout = await app.controller.run(max_ticks=50)
    assert rollout.phase == "paused"
    await Operator(app.controller, actor="sena").resume()
    traffic["canary"] = 20  # the canary finally gets users
    rollout = await app.controller.run(max_ticks=3)
    assert rollout.phase == "progressing" and rollout.traffic == 10  # held, then advanced on evidence
    await app.close()
