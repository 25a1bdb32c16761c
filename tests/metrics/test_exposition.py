"""Custom metrics scraped from a version's /metrics: histogram increases per window, gauges, restarts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from canaria.metrics.exposition import ScrapedMetric, ScrapeState, parse_exposition


def exposition(counts: dict[str, float], version: str = "v2") -> str:
    lines = ["# HELP engine_seconds x", "# TYPE engine_seconds histogram"]
    cumulative = 0.0
    for le, n in counts.items():
        cumulative += n
        lines.append(f'engine_seconds_bucket{{le="{le}",version="{version}"}} {cumulative}')
    lines.append(f'engine_seconds_count{{version="{version}"}} {cumulative}')
    lines.append(f'engine_seconds_sum{{version="{version}"}} 1.0')
    lines += ["# HELP queue gauge", "# TYPE queue gauge", "queue 0.25"]
    return "\n".join(lines) + "\n"


METRIC = ScrapedMetric(name="engine_ms", histogram="engine_seconds", quantile=0.95)


def test_each_window_sees_only_its_own_increase() -> None:
    state = ScrapeState()
    first = parse_exposition(exposition({"0.01": 100, "0.2": 0, "+Inf": 0}), METRIC)
    assert state.window_value("canary", METRIC, first, commit=True) == pytest.approx(9.5, rel=0.2)
    # the next window's requests are all slow: the quantile moves to the slow bucket
    second = parse_exposition(exposition({"0.01": 100, "0.2": 50, "+Inf": 0}), METRIC)
    assert 100 < state.window_value("canary", METRIC, second, commit=True) <= 200  # type: ignore[operator]
    # nothing new: no reading rather than a stale one
    assert state.window_value("canary", METRIC, second, commit=True) is None


def test_peeking_does_not_consume_the_window() -> None:
    state = ScrapeState()
    data = parse_exposition(exposition({"0.01": 10, "+Inf": 0}), METRIC)
    assert state.window_value("canary", METRIC, data, commit=False) is not None
    assert state.window_value("canary", METRIC, data, commit=False) is not None


def test_a_restarted_process_counts_from_zero() -> None:
    state = ScrapeState()
    state.window_value("canary", METRIC, parse_exposition(exposition({"0.01": 500, "+Inf": 0}), METRIC), commit=True)
    after = parse_exposition(exposition({"0.01": 0, "0.2": 20, "+Inf": 0}), METRIC)
    assert state.window_value("canary", METRIC, after, commit=True) > 100  # type: ignore[operator]


def test_labels_filter_and_gauges() -> None:
    other = ScrapedMetric(name="x", histogram="engine_seconds", labels={"version": "v9"})
    assert parse_exposition(exposition({"0.01": 5, "+Inf": 0}), other) is None
    gauge = ScrapedMetric(name="q", gauge="queue", scale=100)
    assert parse_exposition(exposition({"0.01": 5}), gauge) == 25.0


def test_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        ScrapedMetric(name="x")
