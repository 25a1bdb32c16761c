"""Shared set-up for the web tests: a config, healthy/erroring fake measurements, rollouts at known phases."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from canaria.analysis.window import VariantWindow
from canaria.config import CanariaConfig, parse_config
from canaria.controller.actions import Operator
from canaria.controller.clock import Clock, FakeClock
from canaria.runtime.app import App, open_app
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

TOKEN = "lubit-secret-token-1"
READ_TOKEN = "viewer-secret-token-2"

CONFIG = URL_SERVICE + """plan:
  stages:
{stages}
analysis: {{interval: {interval}, min_requests: 10}}
dashboard:
  tokens: {{lubit: "{token}"}}
  read_tokens: {{viewer: "{read_token}"}}
{extra}
"""

FAST_STAGES = """    - {traffic: 5, hold: 10m}
    - {traffic: 30, hold: 10m, approval: required}
    - {traffic: 100, hold: 0}"""


def make_config(tmp_path: Path, *, stages: str = FAST_STAGES, interval: str = "5m", extra: str = "") -> CanariaConfig:
    text = CONFIG.format(state=tmp_path / "state", stages=stages, interval=interval, token=TOKEN,
                         read_token=READ_TOKEN, extra=extra)
    return parse_config(text)


def healthy(weight: float, n: int) -> tuple[VariantWindow, VariantWindow]:
    """Healthy but moving numbers (so the page has something that changes), with a custom metric."""
    rng = random.Random(n)
    control = variant(160 + (n * 37) % 60, latency_ms=90 + (n % 5) * 4, memory=40 + n % 7, cpu=20 + n % 5, rng=rng)
    canary = variant(24 + (n * 13) % 30, latency_ms=95 + (n % 3) * 6, memory=42 + n % 5, cpu=22 + n % 4, rng=rng)
    control.custom = {"recommendation_latency_ms": 40.0 + (n % 9)}
    canary.custom = {"recommendation_latency_ms": 44.0 + (n % 11)}
    return control, canary


def erroring(weight: float, n: int) -> tuple[VariantWindow, VariantWindow]:
    return variant(200), variant(40, errors=6)


def open_fake_app(config: CanariaConfig, *, clock: Clock | None = None, fn: Any = healthy, actor: str = "canaria"
                  ) -> App:
    return open_app(config, clock=clock, platform=FakePlatform(), metrics=FakeMetrics(fn), actor=actor)


async def rollout_at_gate(config: CanariaConfig) -> str:
    """A rollout waiting for approval at 5%, with windows, verdicts and events (fake clock: instant)."""
    app = open_fake_app(config, clock=FakeClock(start=1_700_100_000.0))
    try:
        rollout = await app.controller.run(max_ticks=40)
        assert rollout.phase == "awaiting_approval", rollout.phase
        return rollout.id
    finally:
        await app.close()


async def rolled_back_rollout(config: CanariaConfig) -> str:
    """A finished rollout the judge rolled back (for history and 409-on-ended tests)."""
    app = open_fake_app(config, clock=FakeClock(), fn=erroring)
    try:
        rollout = await app.controller.run()
        assert rollout.phase == "rolled_back"
        return rollout.id
    finally:
        await app.close()


async def pause(config: CanariaConfig) -> None:
    app = open_fake_app(config, clock=FakeClock())
    try:
        await Operator(app.controller, actor="someone").pause(reason="test")
    finally:
        await app.close()


def state_of(app_store: Any, rollout_id: str) -> tuple[Any, ...]:
    """Everything an action could change: the rollout row and the event log."""
    rollout = app_store.get_rollout(rollout_id)
    events = [(e.id, e.kind, e.actor) for e in app_store.events(rollout_id)]
    return (rollout.phase, rollout.traffic, rollout.stage_index, rollout.updated_at, rollout.reason, events)
