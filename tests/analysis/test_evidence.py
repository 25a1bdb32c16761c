"""The mixture likelihood ratio on counts is an e-process: valid under the null when read at every window."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammaln, xlogy

from canaria.analysis.evidence import RATIO_GRID, RatioEvidence, log_lr_increment


@settings(max_examples=200, deadline=None)
@given(
    canary_requests=st.integers(1, 2000),
    control_requests=st.integers(1, 20000),
    events=st.integers(1, 60),
    null_ratio=st.floats(1.0, 3.0),
    shrink=st.floats(0.0, 1.0),
)
def test_each_component_is_a_supermartingale_under_the_composite_null(
    canary_requests: int, control_requests: int, events: int, null_ratio: float, shrink: float
) -> None:
    """E[LR] <= 1 exactly (summing over every outcome) for any true ratio r' <= r0."""
    true_ratio = null_ratio * shrink
    a = true_ratio * canary_requests
    theta = a / (a + control_requests)
    x = np.arange(events + 1)
    increments = log_lr_increment(x, canary_requests, events - x, control_requests, null_ratio)
    log_pmf = (gammaln(events + 1) - gammaln(x + 1) - gammaln(events - x + 1)
               + xlogy(x, theta) + xlogy(events - x, 1 - theta))
    expectation = np.exp(log_pmf[:, None] + increments).sum(axis=0)
    assert np.all(expectation <= 1.0 + 1e-9)


def test_scalar_and_vector_forms_agree_and_windows_without_traffic_add_nothing() -> None:
    vector = log_lr_increment(np.array([3, 0, 2]), np.array([15, 0, 30]), np.array([1, 4, 0]), np.array([285, 300, 0]), 1.5)
    assert vector.shape == (3, len(RATIO_GRID))
    assert np.allclose(vector[0], log_lr_increment(3, 15, 1, 285, 1.5))
    assert np.all(vector[1] == 0) and np.all(vector[2] == 0)
    evidence = RatioEvidence(null_ratio=1.5)
    evidence.update(3, 15, 1, 285)
    assert np.allclose(evidence.log_lr, vector[0])
    evidence.update(5, 0, 2, 100)  # no canary traffic: ignored
    assert evidence.canary_exposure == 15


def _paths(rng: np.random.Generator, paths: int, canary_rate: float, control_rate: float) -> tuple[np.ndarray, ...]:
    """Counts of the runbook plan at 1 request/s: 12 windows each at 5, 10 and 50 % canary."""
    shares = np.repeat([0.05, 0.10, 0.50], 12)
    total = rng.poisson(300, (paths, shares.size))
    canary = rng.binomial(total, shares)
    control = total - canary
    return rng.binomial(canary, canary_rate), canary, rng.binomial(control, control_rate), control


def _first_crossing(counts: tuple[np.ndarray, ...], null_ratio: float, level: float) -> np.ndarray:
    increments = log_lr_increment(*counts, null_ratio)
    log_lr = np.cumsum(increments, axis=1)
    top = log_lr.max(axis=2, keepdims=True)
    log_e = top[..., 0] + np.log(np.exp(log_lr - top).mean(axis=2))
    crossed = log_e >= math.log(level)
    return np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)


def test_false_alarm_rate_at_the_null_boundary_stays_below_alpha_when_checked_every_window() -> None:
    """Binomial data with the canary exactly at (1+tol) x control, looked at after each of 36 windows."""
    rng = np.random.default_rng(20251022)
    alpha = 0.05
    for control_rate in (0.002, 0.02):
        counts = _paths(rng, 3000, 1.5 * control_rate, control_rate)
        false_alarms = (_first_crossing(counts, 1.5, 1 / alpha) >= 0).mean()
        assert false_alarms <= alpha, (control_rate, false_alarms)


def test_inside_the_tolerance_alarms_are_rarer_and_a_tenfold_regression_is_caught_in_the_first_stage() -> None:
    rng = np.random.default_rng(7)
    same = _paths(rng, 2000, 0.002, 0.002)
    assert (_first_crossing(same, 1.5, 100) >= 0).mean() <= 0.005
    tenfold = _paths(rng, 500, 0.05, 0.005)
    first = _first_crossing(tenfold, 1.5, 200)
    assert (first >= 0).mean() > 0.98
    assert np.median(first[first >= 0]) < 12  # within the 5 % stage's hour


def test_evidence_class_matches_the_vectorised_mixture() -> None:
    rng = np.random.default_rng(3)
    counts = _paths(rng, 1, 0.01, 0.002)
    evidence = RatioEvidence(null_ratio=1.5)
    for w in range(counts[0].shape[1]):
        evidence.update(*(int(c[0, w]) for c in counts))
    increments = log_lr_increment(*(c[0] for c in counts), 1.5).sum(axis=0)
    expected = math.log(np.exp(increments).mean())
    assert math.isclose(evidence.log_e_value, expected, rel_tol=1e-9, abs_tol=1e-9)
