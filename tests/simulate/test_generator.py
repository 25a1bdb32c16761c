"""Synthetic windows: right distributions, consistent counts, deterministic per seed and shared by judges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from canaria.foundation.histogram import LatencyHistogram
from canaria.simulate.generator import RunSource, expected_bad_share
from canaria.simulate.scenario import ResolvedScenario, parse_scenarios

SUITE = """\
defaults: {runs: 2, rps: 50.0, horizon: 6h}
scenarios:
  - name: base
    bad: false
    control: {error_rate: 0.01, latency: {p50_ms: 120, p95_ms: 350}, memory_pct: 55, cpu_pct: 30}
  - name: leak
    bad: true
    canary: {memory_slope_pct_per_h: 20, onset: 20m, error_rate: 0.05}
  - name: bursty
    bad: false
    traffic: bursty
"""


def _scenario(name: str) -> ResolvedScenario:
    return {s.name: s for s in parse_scenarios(SUITE).resolved()}[name]


def test_windows_follow_the_lognormal_the_error_rate_and_the_split() -> None:
    source = RunSource(_scenario("base"), run=0, seed=1, interval_s=300)
    merged_latency, requests, errors, canary = LatencyHistogram(), 0, 0, 0
    for k in range(40):
        w = source.window(k, 0, 10.0)
        assert w.canary.latency.count == w.canary.requests and sum(w.control.latency.counts) == w.control.requests
        merged_latency.merge(w.control.latency)
        requests += w.control.requests + w.canary.requests
        errors += w.control.errors + w.canary.errors
        canary += w.canary.requests
    assert requests == pytest.approx(50 * 300 * 40, rel=0.02)
    assert canary / requests == pytest.approx(0.10, abs=0.005)
    assert errors / requests == pytest.approx(0.01, rel=0.1)
    assert merged_latency.quantile(0.5) == pytest.approx(120, rel=0.03)
    assert merged_latency.quantile(0.95) == pytest.approx(350, rel=0.04)


def test_the_fault_starts_at_its_onset_and_memory_climbs_from_there() -> None:
    source = RunSource(_scenario("leak"), run=0, seed=1, interval_s=300)
    before = [source.window(k, 0, 50.0) for k in range(4)]
    after = [source.window(k, 0, 50.0) for k in range(4, 16)]
    assert all(not source.fault_active(k) for k in range(4)) and source.fault_active(4)
    assert sum(w.canary.errors for w in before) / sum(w.canary.requests for w in before) < 0.02
    assert sum(w.canary.errors for w in after) / sum(w.canary.requests for w in after) == pytest.approx(0.05, rel=0.1)
    memory = np.array([w.canary.memory_pct for w in after])
    slope = np.polyfit([w.end / 3600 for w in after], memory, 1)[0]
    assert slope == pytest.approx(20.0, rel=0.15)


def test_same_seed_same_windows_and_other_stage_or_seed_other_draws() -> None:
    a = RunSource(_scenario("bursty"), run=3, seed=7, interval_s=300)
    b = RunSource(_scenario("bursty"), run=3, seed=7, interval_s=300)
    assert a.window(5, 1, 10.0).to_dict() == b.window(5, 1, 10.0).to_dict()
    assert a.window(5, 1, 10.0) is a.window(5, 1, 10.0)  # cached: judges of one run share it
    assert a.window(6, 1, 10.0).to_dict() != RunSource(_scenario("bursty"), run=3, seed=8,
                                                       interval_s=300).window(6, 1, 10.0).to_dict()
    assert a.minutes(5, 1).canary_error_rate.shape == (5,)


def test_per_minute_series_add_up_to_the_window() -> None:
    source = RunSource(_scenario("leak"), run=0, seed=2, interval_s=300)
    w = source.window(10, 0, 50.0)
    minutes = source.minutes(10, 0)
    rates = minutes.canary_error_rate
    assert np.all((rates >= 0) & (rates <= 1))
    assert np.all(np.isfinite(minutes.control_mean_ms)) and minutes.control_mean_ms.mean() == pytest.approx(
        120 * math.exp(0.5 * (math.log(350 / 120) / 1.6448536) ** 2), rel=0.05)
    assert w.canary.errors > 0


def test_bad_share_counts_errors_and_slow_requests_once() -> None:
    base = _scenario("base").control
    share = expected_bad_share(base, 500.0)
    slow = 1 - 0.5 * math.erfc(-(math.log(500 / 120) / (math.log(350 / 120) / 1.6448536)) / math.sqrt(2))
    assert share == pytest.approx(1 - (1 - 0.01) * (1 - slow))


def test_the_baseline_is_the_stable_version_alone_before_the_canary_and_the_same_for_every_judge() -> None:
    """What a controller reads from the metrics history before the first stage: all traffic on stable,
    drawn from control's rates even in a scenario whose canary is bad from the start."""
    source = RunSource(_scenario("leak"), run=0, seed=1, interval_s=300)
    baseline = source.baseline(12)
    assert len(baseline) == 12
    assert sum(v.requests for v in baseline) == pytest.approx(50 * 300 * 12, rel=0.02)
    assert sum(v.errors for v in baseline) / sum(v.requests for v in baseline) == pytest.approx(0.002, rel=0.35)
    again = RunSource(_scenario("leak"), run=0, seed=1, interval_s=300).baseline(12)
    assert [(v.requests, v.errors) for v in again] == [(v.requests, v.errors) for v in baseline]
    # its own draws, before time 0: not a copy of the rollout's first windows
    assert [(v.requests, v.errors) for v in baseline[:4]] != [
        (w.control.requests, w.control.errors) for w in (source.window(k, 0, 0.0) for k in range(4))]
    assert source.baseline(0) == []
