"""Prometheus down during a rollout: never a promotion — not while it is down, not on the first window after."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from canaria.config import parse_config
from canaria.controller.clock import FakeClock
from canaria.metrics.prometheus import PrometheusMetricsProvider
from canaria.runtime.app import open_app
from tests.fakes import FakePlatform
from tests.prometheus.fake_api import Answer, FakePrometheus, vector

CONFIG = """
service: ion-api
state_dir: {state}
platform:
  stable: {{url: "http://127.0.0.1:1"}}
  canary: {{url: "http://127.0.0.1:2"}}
analysis: {{interval: 1m, min_requests: 10, max_metrics_errors: {limit}}}
plan:
  stages: [{{traffic: 5, hold: 3m}}, {{traffic: 50, hold: 3m}}, {{traffic: 100}}]
metrics:
  provider: prometheus
  prometheus:
    url: http://prom.test:9090/
    retries: 1
    backoff: 0.001
    variants: {{stable: {{version: v1}}, canary: {{version: v2}}}}
"""

HEALTHY: dict[tuple[str, str], Answer] = {
    (variant, kind): answer
    for variant, requests in (("stable", 2000.0), ("canary", 400.0))
    for kind, answer in (
        ("requests", vector(({}, requests))),
        ("errors", vector()),
        ("status", vector(({"code_class": "2xx"}, requests))),
        ("latency", vector(({"le": "0.1"}, requests * 0.9), ({"le": "0.5"}, requests), ({"le": "+Inf"}, requests))),
        ("memory", vector(({}, 40.0))),
        ("cpu", vector(({}, 10.0))),
    )
}


def kind(query: str) -> str:
    for name, marker in (("status", "code_class"), ("latency", "_bucket"), ("memory", "process_resident_memory"),
                         ("cpu", "process_cpu_seconds"), ("errors", 'status=~"5..')):
        if marker in query:
            return name
    return "requests"


class SwitchablePrometheus(FakePrometheus):
    def __init__(self) -> None:
        self.down = False
        super().__init__(self._answer)

    def _answer(self, query: str) -> Answer:
        if self.down:
            return httpx.ConnectError("Connection refused")
        return HEALTHY.get(("canary" if 'version="v2"' in query else "stable", kind(query)), vector())


@pytest.mark.parametrize(("limit", "after_outage"), [(10, "held one window, then GO"), (3, "paused")])
async def test_no_promotion_while_prometheus_is_down_or_on_the_window_after(tmp_path: Path, limit: int,
                                                                           after_outage: str) -> None:
    config = parse_config(CONFIG.format(state=tmp_path / "state", limit=limit))
    prometheus = SwitchablePrometheus()
    platform = FakePlatform()
    clock = FakeClock()
    app = open_app(config, clock=clock, platform=platform,
                   metrics=PrometheusMetricsProvider(config, platform, transport=prometheus.transport()))
    ctrl = app.controller

    async def tick() -> str:
        clock.advance(60)
        result = await ctrl.tick()
        assert result is not None
        return result.action

    rollout = await ctrl.start()
    assert await tick() == "none"
    prometheus.down = True
    actions = [await tick() for _ in range(5)]  # down past the end of the 3-minute hold
    assert set(actions) <= {"error"} and ctrl.active().stage_index == 0  # type: ignore[union-attr]
    prometheus.down = False
    if after_outage == "paused":
        assert ctrl.active().phase == "paused"  # type: ignore[union-attr]
        assert "metrics unavailable on 3 consecutive checks" in (ctrl.active().reason or "")  # type: ignore[union-attr]
    else:
        assert await tick() == "none"  # the first window after the outage reaches back into it
        assert app.store.verdicts(rollout.id, last=1)[-1].verdict.reasons[0].check == "data_plane"
        assert await tick() == "advance"
        assert platform.weight == 50
    assert "promote" not in platform.calls
    await app.close()
