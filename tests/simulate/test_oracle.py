"""The clairvoyant oracle: exact likelihood ratios on the generator's truth, and the bound it sets."""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np
import pytest
from scipy.stats import binom, norm

from canaria.analysis.context import StageContext
from canaria.config import AnalysisConfig
from canaria.foundation.histogram import BUCKET_BOUNDS_MS
from canaria.simulate import parse_scenarios, run_simulation
from canaria.simulate.baselines.oracle import OracleJudge, binomial_log_lr, gaussian_log_lr
from canaria.simulate.generator import RunSource
from canaria.simulate.judge_api import Tick

SUITE = parse_scenarios("""\
defaults: {runs: 12, rps: 1.0, horizon: 6h}
scenarios:
  - name: good
    bad: false
  - name: inside-tolerance           # +25 % errors: canaria tolerates +50 %, so the oracle has nothing to find
    bad: false
    canary: {error_rate: 0.0025}
  - name: errors-2pct
    bad: true
    canary: {error_rate: 0.02}
  - name: tail-at-130m
    bad: true
    canary: {latency: {p50_ms: 120, p95_ms: 460}, onset: 130m}
  - name: leak
    bad: true
    canary: {memory_slope_pct_per_h: 20}
""")


@pytest.fixture(scope="module")
def result() -> dict:
    return run_simulation(SUITE, judges=["canaria", "oracle"], seed=5)


def test_the_ratios_are_exact_log_likelihood_ratios() -> None:
    for events, trials, p1, p0 in ((3, 15, 0.02, 0.003), (0, 150, 0.01, 0.003), (15, 15, 0.3, 0.2)):
        expected = binom.logpmf(events, trials, p1) - binom.logpmf(events, trials, p0)
        assert math.isclose(binomial_log_lr(events, trials, p1, p0), expected, rel_tol=1e-9, abs_tol=1e-12)
    assert binomial_log_lr(2, 10, 0.1, 0.1) == 0.0 and binomial_log_lr(1, 10, 0.1, 0.0) == math.inf
    expected = norm.logpdf(58.0, 57.0, 0.8) - norm.logpdf(58.0, 55.0, 0.8)
    assert math.isclose(gaussian_log_lr(58.0, 57.0, 55.0, 0.8), expected, rel_tol=1e-9)
    assert gaussian_log_lr(None, 57.0, 55.0, 0.8) == 0.0


def test_the_truth_is_the_law_the_counts_are_drawn_from() -> None:
    scenario = SUITE.resolved()[3]  # slow tail after 130 minutes
    slow_bucket = bisect_left(BUCKET_BOUNDS_MS, 500.0)
    source = RunSource(scenario, run=0, seed=1, interval_s=300.0)
    requests = slow = 0
    for k in range(30, 72):  # after the onset, at 100 % so every request is the canary's
        canary = source.window(k, 0, 100.0).canary
        requests += canary.requests
        slow += sum(canary.latency.counts[slow_bucket:])
    truth = source.truth(40, slow_bucket)
    assert truth.canary_slow_share > 2 * truth.control_slow_share
    assert abs(slow / requests - truth.canary_slow_share) < 4 * math.sqrt(truth.canary_slow_share / requests)
    assert source.truth(3, slow_bucket).canary_slow_share == truth.control_slow_share  # before the onset


def test_the_oracle_promotes_good_canaries_on_time_and_rolls_back_every_bad_one(result: dict) -> None:
    oracle = next(j for j in result["judges"] if j["judge"] == "oracle")
    good, inside, errors, tail, leak = oracle["by_scenario"]
    for entry in (good, inside):
        assert entry["false_rollback_rate"] == 0.0 and entry["median_promote_s"] == 3 * 3600.0
    for entry in (errors, tail, leak):
        assert entry["miss_rate"] == 0.0
    assert errors["median_detect_s"] <= 3 * 3600.0 and leak["median_detect_s"] <= 3600.0


def test_no_judge_serves_fewer_bad_requests_than_the_oracle(result: dict) -> None:
    canaria, oracle = result["judges"]
    for ours, bound in zip(canaria["by_scenario"], oracle["by_scenario"]):
        if ours["bad"]:
            assert bound["mean_bad_requests"] <= ours["mean_bad_requests"], ours["name"]
    assert oracle["mean_bad_requests"] < canaria["mean_bad_requests"]


def test_the_oracle_runs_only_where_the_truth_is_known() -> None:
    source = RunSource(SUITE.resolved()[0], run=0, seed=0, interval_s=300.0)
    history = [source.window(0, 0, 5.0)]
    ctx = StageContext(stage_index=0, traffic=5.0, hold_s=3600.0, elapsed_in_stage_s=300.0, interval_s=300.0)
    with pytest.raises(ValueError, match="truth"):
        OracleJudge(analysis=AnalysisConfig()).decide(Tick(history, ctx, lambda i: source.minutes(i, 0)))
    assert np.isfinite(source.truth(0, 175).control_slow_share)
