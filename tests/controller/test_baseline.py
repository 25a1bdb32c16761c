"""The controller reads the stable version's pre-canary baseline once per rollout, from the rollout's recorded
start; a provider that fails or hangs leaves the rollout going without one, and `baseline: 0` reads nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from canaria.analysis.window import VariantWindow
from canaria.config import parse_config
from canaria.controller import baseline as baseline_module
from canaria.controller.clock import FakeClock
from canaria.errors import MetricsError
from canaria.notify.event_text import event_text
from canaria.runtime.app import App, open_app
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

CONFIG = URL_SERVICE + """analysis: {{interval: 5m, min_requests: 10{compare}}}
"""


class HistoryMetrics(FakeMetrics):
    """FakeMetrics with a past: `history` is what read_baseline returns (or raises, or sleeps on)."""

    def __init__(self, history: list[VariantWindow] | Exception | float) -> None:
        super().__init__(lambda weight, n: (variant(200), variant(20)))
        self.history = history
        self.asked: list[dict[str, float]] = []

    async def read_baseline(self, *, start: float, end: float, interval: float) -> list[VariantWindow]:
        self.asked.append({"start": start, "end": end, "interval": interval})
        if isinstance(self.history, Exception):
            raise self.history
        if isinstance(self.history, float):
            await asyncio.sleep(self.history)
            return []
        return list(self.history)


def make(tmp_path: Path, metrics: HistoryMetrics, compare: str = ", compare: {baseline: 6h}") -> tuple[App, FakeClock]:
    config = parse_config(CONFIG.format(state=tmp_path / "state", compare=compare))
    clock = FakeClock()
    return open_app(config, clock=clock, platform=FakePlatform(), metrics=metrics), clock


async def first_ticks(app: App, clock: FakeClock, n: int = 2) -> Any:
    rollout = await app.controller.start()
    for _ in range(n):
        clock.advance(300)
        result = await app.controller.tick()
        assert result is not None and result.action == "none" and result.rollout.phase == "progressing"
    return rollout


def baseline_events(app: App, rollout_id: str) -> list[Any]:
    return app.store.events(rollout_id, kinds=("baseline_read", "baseline_unavailable"))


async def test_the_stable_versions_past_joins_the_judge_once_from_the_rollouts_start(tmp_path: Path) -> None:
    history = [variant(360, errors=1 if i % 3 == 0 else 0) for i in range(72)]
    metrics = HistoryMetrics(history)
    app, clock = make(tmp_path, metrics)
    rollout = await first_ticks(app, clock)
    assert metrics.asked == [{"start": rollout.created_at - 6 * 3600, "end": rollout.created_at, "interval": 300.0}]
    state = app.controller._judge_states.states[rollout.id]
    assert list(state.baseline) == history and state.comparison is not None
    [event] = baseline_events(app, rollout.id)
    assert event.kind == "baseline_read" and event.severity == "info"
    assert event.message == ("baseline: 72 windows of the stable version over the 6 h 00 min before the rollout "
                             "(25,920 requests, 0.09% errors)")
    assert event_text(event, "ko") == "기준선: 배포 전 6시간 00분 동안 안정 버전의 구간 72개 (요청 25,920건, 에러 0.09%)"
    assert event.data["windows"] == 72 and event.data["requests"] == 25_920 and event.data["errors"] == 24
    await app.close()

    # a restarted controller reads the same span again: the rollout's recorded start, not its own "now"
    again = HistoryMetrics(history)
    restarted = open_app(app.config, clock=clock, platform=FakePlatform(), metrics=again)
    clock.advance(300)
    assert await restarted.controller.tick() is not None
    assert again.asked == metrics.asked
    assert len(baseline_events(restarted, rollout.id)) == 2
    await restarted.close()


async def test_a_failed_read_is_an_event_and_the_rollout_goes_on_without_a_baseline(tmp_path: Path) -> None:
    metrics = HistoryMetrics(MetricsError("Prometheus at http://127.0.0.1:9 is unreachable: refused"))
    app, clock = make(tmp_path, metrics)
    rollout = await first_ticks(app, clock)
    assert len(metrics.asked) == 1  # not asked again at every tick
    assert list(app.controller._judge_states.states[rollout.id].baseline) == []
    [event] = baseline_events(app, rollout.id)
    assert event.kind == "baseline_unavailable" and event.severity == "warning"
    assert event.message == ("baseline: the stable version's 6 h 00 min before the rollout could not be read "
                             "(Prometheus at http://127.0.0.1:9 is unreachable: refused); the canary is compared "
                             "with the rollout's own control only")
    assert event_text(event, "ko").startswith("기준선: 배포 전 6시간 00분 동안의 안정 버전 메트릭을 읽지 못했습니다")
    assert not app.store.events(rollout.id, kinds=("controller_error",))  # not a metrics outage of the rollout
    await app.close()


async def test_a_read_that_hangs_is_given_up_and_the_tick_judges(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baseline_module, "BASELINE_TIMEOUT_S", 0.05)
    app, clock = make(tmp_path, HistoryMetrics(30.0))
    rollout = await first_ticks(app, clock, n=1)
    [event] = baseline_events(app, rollout.id)
    assert event.kind == "baseline_unavailable" and "(no answer within 0 s)" in event.message
    assert "(0초 안에 응답이 없습니다)" in event_text(event, "ko")
    assert app.store.verdicts(rollout.id)  # the tick went on to judge its window
    await app.close()


async def test_a_provider_without_history_says_so(tmp_path: Path) -> None:
    app, clock = make(tmp_path, HistoryMetrics([]))
    rollout = await first_ticks(app, clock, n=1)
    [event] = baseline_events(app, rollout.id)
    assert event.kind == "baseline_read" and event.data["windows"] == 0
    assert event.message.startswith("baseline: no requests of the stable version in the 6 h 00 min before")
    await app.close()


@pytest.mark.parametrize("compare", [", compare: {baseline: 0}", ", compare: {enabled: false}"])
async def test_no_baseline_span_or_no_comparison_reads_nothing(tmp_path: Path, compare: str) -> None:
    metrics = HistoryMetrics(MetricsError("must not be asked"))
    app, clock = make(tmp_path, metrics, compare)
    rollout = await first_ticks(app, clock)
    assert metrics.asked == [] and baseline_events(app, rollout.id) == []
    assert list(app.controller._judge_states.states[rollout.id].baseline) == []
    await app.close()
