"""A stage is entered only when the data plane applies its route (DESIGN.md §5), and a failed step puts the
previous route back."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.controller.actions import Operator
from canaria.controller.clock import FakeClock
from canaria.controller.routing import RouteTarget
from canaria.errors import PlatformError
from canaria.platforms.base import RouteStatus, TesterMatch
from canaria.runtime.app import open_app
from tests.fakes import FakeMetrics, FakePlatform, variant

CONFIG = """
service: ion-api
platform:
  stable: {{url: "http://127.0.0.1:1"}}
  canary: {{url: "http://127.0.0.1:2"}}
  verify_timeout: 30s
state_dir: {state}
analysis: {{interval: 1m, min_requests: 10}}
"""


class LaggingPlatform(FakePlatform):
    """Applies a written route only after `lag` reads, like an HTTPRoute waiting for its Gateway (or never)."""

    def __init__(self, lag: int | None, state: str = "applied") -> None:
        super().__init__()
        self.lag = lag
        self.reads = 0
        self.applied = (0.0, None)
        self.state = state

    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        await super().set_route(weight, match=match)
        self.reads = 0
        if self.lag == 0:
            self.applied = (weight, match)

    async def verify_route(self) -> RouteStatus:
        self.reads += 1
        if self.state == "unsupported":
            return RouteStatus("unsupported", detail="this fake cannot read back")
        if self.lag is not None and self.reads > self.lag:
            self.applied = (self.weight, self.match)
        weight, match = self.applied
        return RouteStatus("applied" if (weight, match) == (self.weight, self.match) else "pending",
                           weight=weight, match=match, detail="fake data plane")


def healthy(weight: float, n: int):
    return variant(200), variant(max(12, int(weight * 3)))


def make(tmp_path: Path, platform: FakePlatform, extra: str = ""):
    config = parse_config(CONFIG.format(state=tmp_path / "state") + extra)
    clock = FakeClock()
    return open_app(config, clock=clock, platform=platform, metrics=FakeMetrics(healthy)), clock


async def test_a_stage_is_entered_once_the_route_is_applied(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=3)
    app, clock = make(tmp_path, platform)
    started = clock.now()
    rollout = await app.controller.start()
    assert rollout.phase == "progressing" and rollout.traffic == 5
    assert platform.reads == 4 and clock.now() - started == pytest.approx(1.5)  # three polls of 0.5 s
    event = app.store.events(rollout.id, kinds=("stage_advanced",))[-1]
    assert event.data["route"] == {"state": "applied", "applied_weight": 5.0, "detail": "fake data plane",
                                   "approximate": False, "match": None}
    assert rollout.stage_started_at == clock.now()  # the hold starts when the split is real


async def test_a_route_never_applied_puts_the_previous_one_back_and_holds_the_stage(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0)
    app, clock = make(tmp_path, platform, "plan: {stages: [{traffic: 5, hold: 1m}, {traffic: 20, hold: 1m}]}\n")
    rollout = await app.controller.start()
    platform.lag = None  # from now on the data plane never takes a new route
    with pytest.raises(PlatformError, match=r"route to 20% was written but not applied within 30 s \(pending"):
        await app.controller.advance(rollout)
    assert platform.calls[-2:] == ["weight 20", "weight 5"]  # written, then the previous route put back
    assert app.store.get_rollout(rollout.id).traffic == 5
    assert app.store.get_rollout(rollout.id).stage_index == 0


async def test_the_tick_holds_and_says_why_when_a_route_cannot_be_applied(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0)
    app, clock = make(tmp_path, platform, "plan: {stages: [{traffic: 5, hold: 1m}, {traffic: 20, hold: 1m}]}\n")
    rollout = await app.controller.start()
    platform.lag = None
    for _ in range(4):
        await clock.sleep(60)
        await app.controller.tick()
    current = app.store.get_rollout(rollout.id)
    assert current.phase == "progressing" and current.traffic == 5
    errors = app.store.events(rollout.id, kinds=("controller_error",))
    assert errors and "not applied within 30 s" in errors[-1].message


async def test_unsupported_read_back_is_said_in_the_event(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0, state="unsupported")
    app, _clock = make(tmp_path, platform)
    rollout = await app.controller.start()
    event = app.store.events(rollout.id, kinds=("stage_advanced",))[-1]
    assert "cannot read the split back (unsupported)" in event.message
    assert event.data["route"]["state"] == "unsupported"


async def test_a_tester_stage_routes_by_header_then_the_weighted_stage_drops_it(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0)
    app, _clock = make(tmp_path, platform, "plan:\n  stages:\n    - {match: {header: X-Canary, value: always}, "
                                          "hold: 1m}\n    - {traffic: 5, hold: 1m}\n")
    rollout = await app.controller.start()
    assert platform.calls[-1] == "weight 0 match header X-Canary = always"
    event = app.store.events(rollout.id, kinds=("stage_advanced",))[-1]
    assert event.message.startswith("canary at testers (header X-Canary = always)")
    assert event.data["route"]["match"] == {"value": "always", "header": "X-Canary", "cookie": None}
    rollout = await app.controller.advance(rollout)
    assert platform.calls[-1] == "weight 5" and rollout.traffic == 5


async def test_enable_canary_is_verified_too(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0)
    app, _clock = make(tmp_path, platform)
    await app.controller.start()
    platform.lag = None
    with pytest.raises(PlatformError, match="not applied"):
        await Operator(app.controller, actor="lubit").enable_canary(30, lock=app.lock)
    assert platform.calls[-1] == "weight 5"


async def test_the_versions_are_recorded_when_the_rollout_starts(tmp_path: Path) -> None:
    app, _clock = make(tmp_path, LaggingPlatform(lag=0))
    rollout = await app.controller.start()
    started = app.store.events(rollout.id, kinds=("rollout_started",))[-1]
    assert started.data["versions"] == {"stable": {"variant": "stable", "version": "v1"},
                                        "canary": {"variant": "canary", "version": "v2"}}


async def test_a_rollback_is_finished_only_once_the_data_plane_sends_the_canary_nothing(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0)
    app, clock = make(tmp_path, platform)
    rollout = await app.controller.start()
    platform.lag = None  # the data plane keeps serving the 5 % it had (a Cloud Run update still reconciling)
    with pytest.raises(PlatformError, match=r"the rollback was written but not applied within 30 s \(pending"):
        await Operator(app.controller, actor="lubit").rollback(reason="bad canary")
    current = app.store.get_rollout(rollout.id)
    assert current.phase == "rolling_back"  # not told finished while 5 % still reaches the canary
    assert not app.store.events(rollout.id, kinds=("rollback_finished",))
    platform.lag = 0  # the data plane catches up: the next tick finishes the rollback
    await clock.sleep(60)
    await app.controller.tick()
    current = app.store.get_rollout(rollout.id)
    assert current.phase == "rolled_back" and current.traffic == 0
    finished = app.store.events(rollout.id, kinds=("rollback_finished",))[-1]
    assert finished.data["route"]["state"] == "applied" and finished.data["route"]["applied_weight"] == 0.0
    assert finished.data["reason"] == "bad canary"


async def test_a_promotion_is_finished_only_once_nothing_is_pending(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=0)
    app, clock = make(tmp_path, platform, "plan: {stages: [{traffic: 50, hold: 1m}]}\n")
    rollout = await app.controller.start()
    platform.lag = None
    with pytest.raises(PlatformError, match=r"the promotion was written but not applied within 30 s"):
        await app.controller.advance(rollout)
    assert app.store.get_rollout(rollout.id).phase == "promoting"
    assert not app.store.events(rollout.id, kinds=("promotion_finished",))
    platform.lag = 0
    await clock.sleep(60)
    await app.controller.tick()
    assert app.store.get_rollout(rollout.id).phase == "succeeded"
    finished = app.store.events(rollout.id, kinds=("promotion_finished",))[-1]
    assert finished.data["route"]["state"] == "applied"


async def test_a_forced_reset_that_is_not_applied_says_so(tmp_path: Path) -> None:
    platform = LaggingPlatform(lag=None)
    platform.applied = (10.0, None)  # a split left by a failed deploy script, which the data plane keeps
    platform.weight = 10.0
    app, _clock = make(tmp_path, platform)
    result = await Operator(app.controller, actor="lubit").rollback(force=True)
    assert not result.changed and "forced reset failed: the rollback was written but not applied" in result.message
    platform.lag = 0
    result = await Operator(app.controller, actor="lubit").rollback(force=True)
    assert result.changed and result.message == "nothing active; forced all traffic to stable"


class DrainingPods(FakePlatform):
    """An approximate split (Kubernetes replicas): a stage is applied near its weight, but a rollback only at 0."""

    def __init__(self) -> None:
        super().__init__()
        self.ready_canary_share = 20.0

    async def verify_route(self) -> RouteStatus:
        return RouteStatus("applied", weight=self.ready_canary_share, approximate=True, detail="pods")


async def test_an_approximate_split_is_rolled_back_only_at_zero(tmp_path: Path) -> None:
    platform = DrainingPods()
    app, _clock = make(tmp_path, platform)
    rollout = await app.controller.start()
    with pytest.raises(PlatformError, match=r"the rollback was written but not applied within 30 s \(applied 20"):
        await app.controller.rollback(rollout, reason="bad", actor="lubit")
    platform.ready_canary_share = 0.0
    done = await app.controller.rollback(rollout, reason="bad", actor="lubit")
    assert done.phase == "rolled_back"


async def test_a_read_back_that_times_out_says_so_in_korean_too(tmp_path: Path) -> None:
    from canaria.i18n.text import render

    platform = LaggingPlatform(lag=0)
    app, _clock = make(tmp_path, platform)
    rollout = await app.controller.start()
    platform.lag = None
    with pytest.raises(PlatformError) as caught:
        await app.controller.rollback(rollout, reason="bad", actor="lubit")
    assert render(caught.value.text, "en") == str(caught.value)
    assert render(caught.value.text, "ko").startswith("롤백을 기록했지만 30초 안에 적용되지 않았습니다 (pending")
    with pytest.raises(PlatformError) as caught:
        await app.controller.route(RouteTarget(20.0), previous=RouteTarget(5.0))
    assert render(caught.value.text, "ko").startswith("20% 경로를 기록했지만 30초 안에")
    testers = RouteTarget(0.0, TesterMatch(value="always", header="X-Canary"))
    with pytest.raises(PlatformError) as caught:
        await app.controller.route(testers, previous=RouteTarget(5.0))
    assert str(caught.value).startswith("the route to testers (header X-Canary = always) was written but not")
    assert render(caught.value.text, "ko").startswith("테스터 (header X-Canary = always) 경로를 기록했지만")
