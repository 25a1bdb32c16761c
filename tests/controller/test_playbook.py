"""The memory-leak playbook: a predicted leak offers `canaria restart canary` once; the restart is recorded."""

from __future__ import annotations

from pathlib import Path

from canaria.config import parse_config
from canaria.controller.actions import Operator
from canaria.controller.clock import FakeClock
from canaria.controller.playbook import RESTART_COMMAND
from canaria.runtime.app import open_app
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

CONFIG = URL_SERVICE + """analysis: {{interval: 1m, min_requests: 10}}
"""


def leaking(weight: float, n: int):
    """Canary memory climbs 1.5 points a minute from 40 %; control stays flat at 40 %."""
    return variant(300, memory=40.0), variant(60, memory=40.0 + 1.5 * n)


def flat(weight: float, n: int):
    return variant(300, memory=40.0), variant(60, memory=40.0)


def make(tmp_path: Path, fn):
    config = parse_config(CONFIG.format(state=tmp_path / "state"))
    platform = FakePlatform()
    return open_app(config, clock=FakeClock(), platform=platform, metrics=FakeMetrics(fn)), platform


async def test_a_predicted_leak_offers_the_restart_once(tmp_path: Path) -> None:
    app, _platform = make(tmp_path, leaking)
    rollout = await app.controller.run(max_ticks=40)
    offers = app.store.events(rollout.id, kinds=("restart_offered",))
    assert len(offers) == 1, [e.kind for e in app.store.events(rollout.id)]
    assert RESTART_COMMAND in offers[0].message and "predicted to cross 85" in offers[0].message
    assert offers[0].data["command"] == RESTART_COMMAND


async def test_flat_memory_offers_nothing(tmp_path: Path) -> None:
    app, _platform = make(tmp_path, flat)
    rollout = await app.controller.run(max_ticks=15)
    assert not app.store.events(rollout.id, kinds=("restart_offered",))


async def test_the_restart_goes_through_the_platform_and_is_recorded(tmp_path: Path) -> None:
    app, platform = make(tmp_path, flat)
    rollout = await app.controller.start()
    message = await Operator(app.controller, actor="lubit").restart("canary", reason="memory climbing")
    assert platform.calls[-1] == "restart canary" and message == "restarted the fake canary"
    event = app.store.events(rollout.id, kinds=("restarted",))[-1]
    assert event.actor == "lubit" and event.data == {"variant": "canary", "reason": "memory climbing"}
    assert event.message == "restarted the fake canary (memory climbing)"
