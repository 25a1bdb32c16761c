"""Canary-vs-control comparison: incremental state, validity of the latency test, and what reasons say."""

from __future__ import annotations

import numpy as np
import pytest

from canaria.analysis.budget import WITHIN_STAGE_RESTARTS, WITHIN_STAGE_SHARE, restart_weight
from canaria.analysis.compare import ComparisonState, compare
from canaria.analysis.verdict import Decision, Severity
from canaria.config import CompareConfig
from canaria.foundation.histogram import LatencyHistogram
from tests.analysis.builders import lognormal_variant, variant, window


def _history(rng: np.random.Generator, windows: int, *, canary_p50: float = 100.0, canary_sigma: float = 0.5,
             canary_errors: float = 0.002, per_window: int = 300, share: float = 0.1) -> list:
    out = []
    for k in range(windows):
        n_canary = int(per_window * share)
        canary = lognormal_variant(rng, n_canary, p50=canary_p50, sigma=canary_sigma, error_rate=canary_errors)
        control = lognormal_variant(rng, per_window - n_canary, p50=100.0, sigma=0.5, error_rate=0.002)
        out.append(window(k, canary, control, stage=k // 12))
    return out


def test_incremental_state_gives_the_same_verdicts_as_recomputing_every_tick() -> None:
    rng = np.random.default_rng(1)
    history = _history(rng, 30, canary_p50=130.0, canary_errors=0.01)
    config = CompareConfig()
    state = ComparisonState(config)
    for t in range(1, len(history) + 1):
        kept = compare(history[:t], config, state=state)
        fresh = compare(history[:t], config)
        assert [c.e_value for c in kept] == pytest.approx([c.e_value for c in fresh], rel=1e-12)
        assert [c.evidence for c in kept] == [c.evidence for c in fresh]


def test_state_starts_again_when_the_history_is_not_a_continuation() -> None:
    rng = np.random.default_rng(2)
    config = CompareConfig()
    state = ComparisonState(config)
    first = _history(rng, 10, canary_errors=0.05)
    compare(first, config, state=state)
    other = _history(np.random.default_rng(3), 4)
    assert [c.e_value for c in compare(other, config, state=state)] == pytest.approx(
        [c.e_value for c in compare(other, config)]
    )


def test_stages_restart_the_evidence_with_shares_of_alpha_that_sum_to_at_most_one() -> None:
    rng = np.random.default_rng(4)
    state = ComparisonState(CompareConfig())
    state.update(_history(rng, 30))  # stages 0, 1 (12 windows each), 2 (6 windows)
    c = WITHIN_STAGE_SHARE
    expected: list[float] = []
    for stage, windows in enumerate((12, 12, 6)):
        w = restart_weight(stage)
        expected += [w * (1 - c)] + [w * c / (j * (j + 1)) for j in range(1, windows)]
    assert state.weights == pytest.approx(expected)
    assert state.errors.log_lr.shape[0] == len(expected) == 30
    assert state.pooled_errors.starts == 30 and state.pooled_slow.starts == 30
    # the leaning factor reads the stages' own starts only
    assert state.errors.stage_rows == [0, 12, 24] == state.pooled_errors.stage_rows
    # whatever the plan, the weights of every start sum to at most 1: the weighted sum is an e-process
    per_stage = (1 - c) + c * sum(1 / (j * (j + 1)) for j in range(1, WITHIN_STAGE_RESTARTS + 1))
    assert sum(restart_weight(s) for s in range(60)) * per_stage <= 1.0


def test_a_fault_that_begins_inside_a_stage_is_judged_from_a_restart_at_its_onset() -> None:
    """Four good windows at 50 %, then 4 % errors: the restart at the onset window carries more evidence
    than the stage's own start, which the good windows before the fault drove down (the pooled test scores
    every request; the concurrent one only events, so it loses less to good windows, never more)."""
    rng = np.random.default_rng(9)
    good = [window(k, lognormal_variant(rng, 150), lognormal_variant(rng, 150), stage=0) for k in range(4)]
    bad = [window(4 + k, lognormal_variant(rng, 150, error_rate=0.04), lognormal_variant(rng, 150), stage=0)
           for k in range(2)]
    state = ComparisonState(CompareConfig()).update(good + bad)
    assert len(state.weights) == 6
    log_e = state.pooled_errors.log_e_values
    assert log_e[4] > log_e[0] + 1.0
    assert state.errors.log_e_values[4] >= state.errors.log_e_values[0]


def test_a_fault_that_begins_in_a_later_stage_is_weighed_against_the_pooled_control() -> None:
    """Errors from the third stage on: the pooled half of that start carries more evidence than the
    concurrent half, and the error comparison's e-value includes it."""
    rng = np.random.default_rng(8)
    history = _history(rng, 24, share=0.1) + [
        window(24 + k, lognormal_variant(rng, 150, error_rate=0.03), lognormal_variant(rng, 150, error_rate=0.002),
               stage=2)
        for k in range(3)
    ]
    state = ComparisonState(CompareConfig()).update(history)
    assert state.pooled_errors.log_e_values[24] > state.errors.log_e_values[24]  # the 50 % stage's start
    concurrent_only = state.errors.weighted(state._budget_split()[0])
    assert compare(history, CompareConfig())[0].e_value > concurrent_only


def test_quantile_tests_keep_their_false_alarm_rate_when_the_canary_is_exactly_at_the_tolerance() -> None:
    """Canary latencies = control latencies x (1 + tau): the null's boundary for every quantile threshold."""
    config = CompareConfig(latency_tolerance=0.2)
    alpha = 0.1
    rng = np.random.default_rng(11)
    runs, alarms = 300, 0
    for _ in range(runs):
        state = ComparisonState(config)
        history = []
        crossed = False
        for k in range(24):
            canary = lognormal_variant(rng, 60, p50=120.0, sigma=0.5)
            control = lognormal_variant(rng, 240, p50=100.0, sigma=0.5)
            history.append(window(k, canary, control))
            state.update(history)
            crossed = crossed or any(ev.e_value >= 1 / alpha for ev in state.quantiles)
        alarms += crossed
    assert alarms / runs <= alpha


def test_doubled_latency_is_a_regression_and_the_reason_shows_both_versions() -> None:
    rng = np.random.default_rng(5)
    history = _history(rng, 8, canary_p50=200.0)
    latency = compare(history, CompareConfig())[1]
    assert latency.rejected
    reason = latency.reason()
    assert reason.decision is Decision.NO_GO and reason.severity is Severity.CRITICAL
    assert reason.canary_value is not None and reason.control_value is not None
    assert reason.canary_value > reason.control_value
    assert "regression beyond tolerance" in reason.message and "e-value" in reason.evidence


def test_identical_versions_are_within_tolerance() -> None:
    rng = np.random.default_rng(6)
    errors, latency = compare(_history(rng, 24), CompareConfig())
    assert not errors.rejected and not latency.rejected
    assert errors.reason().key == "compare.error_rate.ok"
    assert errors.reason().threshold == 0.5


def test_error_counts_carry_the_evidence_and_disabled_comparison_says_nothing() -> None:
    history = [window(k, variant(30, errors=3), variant(270, errors=0)) for k in range(6)]
    errors = compare(history, CompareConfig())[0]
    assert errors.rejected
    assert errors.canary_value == pytest.approx(10.0) and errors.control_value == pytest.approx(0.0)
    assert "18/180 canary vs 0/1620 control errors" in errors.evidence
    assert compare(history, CompareConfig(enabled=False)) == []


def test_builder_buckets_latencies_as_record_does() -> None:
    fast = lognormal_variant(np.random.default_rng(0), 500, error_rate=0.0)
    slow = LatencyHistogram()
    rng = np.random.default_rng(0)
    rng.binomial(500, 0.0)
    slow.record_many(rng.lognormal(np.log(100.0), 0.5, 500))
    assert fast.latency.counts == slow.counts


def test_a_pre_canary_baseline_joins_the_pooled_control_and_keeps_state_and_recompute_equal() -> None:
    rng = np.random.default_rng(9)
    baseline = [lognormal_variant(rng, 300, error_rate=0.002) for _ in range(24)]
    history = _history(rng, 24, share=0.1) + [
        window(24 + k, lognormal_variant(rng, 150, error_rate=0.03), lognormal_variant(rng, 150, error_rate=0.002),
               stage=2)
        for k in range(2)
    ]
    config = CompareConfig()
    without = ComparisonState(config).update(history)
    with_baseline = ComparisonState(config, baseline).update(history)
    assert with_baseline.pooled_errors.control_exposure == without.pooled_errors.control_exposure + sum(
        b.requests for b in baseline
    )
    assert with_baseline.pooled_errors.log_e_values[2] > without.pooled_errors.log_e_values[2]
    state = ComparisonState(config, baseline)
    for t in range(1, len(history) + 1):
        kept = compare(history[:t], config, state=state)
        fresh = compare(history[:t], config, baseline=baseline)
        assert [c.e_value for c in kept] == pytest.approx([c.e_value for c in fresh], rel=1e-12)


def test_every_start_together_keeps_the_false_alarm_rate_at_the_error_nulls_boundary() -> None:
    """The rollout's start, each stage's, the restarts inside every stage and the pooled halves, with a
    pre-canary baseline, checked after every window of a 5 / 10 / 50 % plan: a canary exactly at the
    tolerated error ratio is flagged at most alpha of the time (here alpha/2, the error test's share)."""
    config = CompareConfig(alpha=0.2)
    rng = np.random.default_rng(12)
    runs, alarms = 150, 0  # 2 % at the boundary, 83 % at 3x the control rate (measured with this seed)
    control_rate = 0.01
    for _ in range(runs):
        baseline = [variant(300, errors=int(rng.binomial(300, control_rate))) for _ in range(12)]
        state = ComparisonState(config, baseline)
        history, crossed = [], False
        for k in range(36):
            stage = k // 12
            n = 300
            n_canary = int(rng.binomial(n, (0.05, 0.10, 0.50)[stage]))
            canary = variant(n_canary, errors=int(rng.binomial(n_canary, 1.5 * control_rate)))
            control = variant(n - n_canary, errors=int(rng.binomial(n - n_canary, control_rate)))
            history.append(window(k, canary, control, stage=stage))
            errors = compare(history, config, state=state)[0]
            crossed = crossed or errors.rejected
        alarms += crossed
    assert len(state.weights) == 36
    assert alarms / runs <= config.alpha / 2


def test_a_few_milliseconds_on_a_fast_service_are_not_a_latency_regression() -> None:
    """Control P50 5 ms, canary 7 ms (a fresh process): +40 % at every quantile but at most ~6 ms (P99 16 vs
    22 ms), under latency_min_delta_ms; the same ratio on a 100 ms service is a regression."""
    rng = np.random.default_rng(13)
    fast = _history(rng, 24, canary_p50=7.0, share=0.5)
    for w in fast:
        w.control.latency = lognormal_variant(rng, w.control.requests, p50=5.0, sigma=0.5).latency
    assert not compare(fast, CompareConfig())[1].rejected
    assert compare(fast, CompareConfig(latency_min_delta_ms=0))[1].rejected
    assert compare(_history(rng, 24, canary_p50=140.0, share=0.5), CompareConfig())[1].rejected
