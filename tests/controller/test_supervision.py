"""Issue 10, findings 3 and 4 at the controller: no GO on a window an outage cut through, and a rollback whose
write failed (gateway down) stays retryable — by `rollback`, `rollback --force`, `enable-canary` and `run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.controller.actions import Operator
from canaria.controller.clock import FakeClock
from canaria.controller.lock import ControllerLock
from canaria.errors import GatewayError
from canaria.platforms.base import ComponentHealth, DataPlaneHealth
from canaria.runtime.app import App, open_app
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

CONFIG = URL_SERVICE + """analysis: {{interval: 1m, min_requests: 10}}
plan:
  stages: [{{traffic: 5, hold: 3m}}, {{traffic: 50, hold: 3m}}, {{traffic: 100}}]
"""


class FlakyPlatform(FakePlatform):
    """A data plane that can be down (every call fails as the gateway client does) and can come back restarted."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.restarted_once = False  # the next probe reports a new gateway boot (restarted by hand)

    def _gateway(self) -> None:
        if self.down:
            raise GatewayError("gateway admin API at http://127.0.0.1:1 did not answer: connection refused")

    async def set_route(self, weight, *, match=None):  # type: ignore[no-untyped-def,override]
        self._gateway()
        await super().set_route(weight, match=match)

    async def rollback(self, *, keep_canary: bool = False) -> None:
        self._gateway()
        await super().rollback(keep_canary=keep_canary)

    async def supervise(self, *, canary: bool) -> DataPlaneHealth:
        if self.down:
            return DataPlaneHealth([ComponentHealth("gateway", "down", "pid 1 exited")])
        restarted, self.restarted_once = self.restarted_once, False
        return DataPlaneHealth([ComponentHealth("gateway", "up", restarted=restarted)])


class OutageMetrics(FakeMetrics):
    def __init__(self, platform: FlakyPlatform) -> None:
        super().__init__(lambda w, n: (variant(400), variant(60)))
        self.platform = platform

    async def read_window(self, **kwargs):  # type: ignore[no-untyped-def,override]
        self.platform._gateway()
        return await super().read_window(**kwargs)


def make(tmp_path: Path) -> tuple[App, FlakyPlatform, FakeClock]:
    config = parse_config(CONFIG.format(state=tmp_path / "state"))
    platform = FlakyPlatform()
    clock = FakeClock()
    app = open_app(config, clock=clock, platform=platform, metrics=OutageMetrics(platform))
    return app, platform, clock


async def tick(app: App, clock: FakeClock) -> str:
    clock.advance(app.config.analysis.interval)
    result = await app.controller.tick()
    assert result is not None
    return result.action


async def test_no_advance_on_the_first_window_after_a_gateway_outage(tmp_path: Path) -> None:
    app, platform, clock = make(tmp_path)
    rollout = await app.controller.start()
    assert await tick(app, clock) == "none"  # healthy, but the 3-minute hold is not served yet
    platform.down = True
    for _ in range(4):  # the gateway is dead past the end of the hold: every tick fails
        assert await tick(app, clock) == "error"
    kinds = [e.kind for e in app.store.events(rollout.id)]
    assert "data_plane_down" in kinds
    platform.down = False  # it answers again (restarted): the window read now reaches back before the outage
    assert await tick(app, clock) == "none"
    held = app.store.verdicts(rollout.id, last=1)[-1].verdict
    assert held.decision.value == "OBSERVE" and held.reasons[0].check == "data_plane"
    assert "waiting for a complete window measured after recovery" in held.reasons[0].message
    assert app.controller.active().stage_index == 0  # type: ignore[union-attr]
    assert await tick(app, clock) == "advance"  # one complete window after recovery: now the judge may say GO
    assert app.controller.active().traffic == 50  # type: ignore[union-attr]
    await app.close()


async def test_a_gateway_restarted_by_hand_between_ticks_delays_the_go_by_one_window(tmp_path: Path) -> None:
    app, platform, clock = make(tmp_path)
    rollout = await app.controller.start()
    for _ in range(2):
        assert await tick(app, clock) == "none"
    platform.restarted_once = True  # the hold is served at the next tick  # a new boot id: its counters since the last cut are gone
    assert await tick(app, clock) == "none"
    assert app.store.events(rollout.id, kinds=("data_plane_restarted",))
    assert await tick(app, clock) == "advance"
    await app.close()


@pytest.mark.parametrize("how", ["rollback", "force", "run", "enable-canary"])
async def test_a_rollback_that_failed_while_the_gateway_was_down_is_finished_later(tmp_path: Path, how: str) -> None:
    app, platform, clock = make(tmp_path)
    await app.controller.start()
    await Operator(app.controller, actor="lubit").enable_canary(37, lock=ControllerLock(tmp_path, "x"))
    operator = Operator(app.controller, actor="lubit")
    platform.down = True
    with pytest.raises(GatewayError):
        await operator.rollback(reason="users complain")
    stranded = app.controller.active()
    assert stranded is not None and stranded.phase == "rolling_back" and platform.weight == 37
    with pytest.raises(GatewayError):  # still down: still an error, still retryable
        await operator.rollback(reason="again", force=True)
    platform.down = False
    if how == "run":
        final = await app.controller.run(max_ticks=3)
    elif how == "enable-canary":
        result = await operator.enable_canary(5, lock=ControllerLock(tmp_path, "x"))
        final = app.store.get_rollout(stranded.id)  # type: ignore[assignment]
        assert result.rollout is not None and result.rollout.id != stranded.id and result.rollout.traffic == 5
    else:
        result = await operator.rollback(reason="retry", force=how == "force")
        final = result.rollout  # type: ignore[assignment]
    assert final is not None and final.phase == "rolled_back" and final.outcome == "aborted"
    assert final.reason == "users complain"
    kinds = [e.kind for e in app.store.events(stranded.id)]
    assert kinds.count("rollback_started") == 1 and kinds[-1] == "rollback_finished"
    if how != "run":
        assert "rollback_retried" in kinds
    assert how == "enable-canary" or platform.weight == 0
    await app.close()
