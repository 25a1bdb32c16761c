"""Evidence against control pooled over the rollout: exact null maximum, validity, power at 50 %, the guard."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import xlog1py, xlogy

from canaria.analysis.evidence import RatioEvidence
from canaria.analysis.pooled import PooledEvidence, null_log_sup

_SHARES = np.repeat([0.05, 0.10, 0.50], 12)  # the runbook's plan, 12 five-minute windows a stage


@pytest.mark.parametrize(
    ("xc", "nc", "xb", "nb", "r0"),
    [(3, 150, 13, 6660, 1.5), (0, 150, 13, 6660, 1.5), (9, 160, 0, 171, 1.5), (40, 200, 5, 900, 1.0),
     (2, 15, 1, 285, 2.0), (150, 150, 3, 300, 1.5)],
)
def test_the_null_maximum_is_the_largest_likelihood_on_a_fine_grid_of_the_null(
    xc: int, nc: int, xb: int, nb: int, r0: float
) -> None:
    pb = np.exp(np.linspace(math.log(1e-6), math.log(0.999 / r0), 4000))[None, :]
    pc = np.linspace(0.0, 1.0, 401)[:, None] * r0 * pb  # p_c = shrink * r0 * p_b covers the null p_c <= r0 p_b
    loglik = xlogy(xc, pc) + xlog1py(nc - xc, -pc) + xlogy(xb, pb) + xlog1py(nb - xb, -pb)
    best = float(np.nanmax(loglik))
    exact = null_log_sup(xc, nc, xb, nb, r0)
    assert exact >= best - 1e-9  # never below a point of the null: the denominator bounds the true likelihood
    assert exact == pytest.approx(best, abs=1e-3)


def _paths(rng: np.random.Generator, canary_rate: np.ndarray | float, control_rate: float) -> list[tuple[int, int, int, int]]:
    total = rng.poisson(300, _SHARES.size)
    canary = rng.binomial(total, _SHARES)
    control = total - canary
    rates = np.broadcast_to(canary_rate, _SHARES.shape)
    return list(zip(rng.binomial(canary, rates), canary, rng.binomial(control, control_rate), control))


def _crossings(windows: list[tuple[int, int, int, int]], level: float) -> tuple[int, int]:
    """First window at which the 50 % stage's restart crosses `level`, pooled and concurrent (-1: never)."""
    pooled, concurrent = PooledEvidence(1.5), RatioEvidence(1.5)
    first = [-1, -1]
    for k, counts in enumerate(windows):
        if k in (12, 24):
            pooled.restart()
            concurrent.restart()
        pooled.update(*counts)
        concurrent.update(*counts)
        for i, log_e in enumerate((pooled.log_e_values[-1], concurrent.log_e_values[-1])):
            if first[i] < 0 and log_e >= math.log(level):
                first[i] = k
    return first[0], first[1]


def test_false_alarm_rate_at_the_null_boundary_stays_below_alpha_when_checked_every_window() -> None:
    """Stationary control, the canary exactly at (1+tol) x control, every start read after every window."""
    rng = np.random.default_rng(20251201)
    alpha, runs = 0.05, 600
    for control_rate in (0.002, 0.02):
        alarms = 0
        for _ in range(runs):
            evidence = PooledEvidence(1.5)
            crossed = False
            for k, counts in enumerate(_paths(rng, 1.5 * control_rate, control_rate)):
                if k in (12, 24):
                    evidence.restart()
                evidence.update(*counts)
                crossed = crossed or evidence.weighted([1 / 3] * evidence.starts) >= 1 / alpha
            alarms += crossed
        assert alarms / runs <= alpha, (control_rate, alarms / runs)


def test_a_fault_that_begins_at_50_percent_is_caught_sooner_than_against_the_concurrent_window() -> None:
    """Errors 0.2 % -> 2 % from window 26 (130 min), the restart of the 50 % stage, level 800."""
    rng = np.random.default_rng(5)
    onset = np.where(np.arange(_SHARES.size) >= 26, 0.02, 0.002)
    results = np.array([_crossings(_paths(rng, onset, 0.002), 800.0) for _ in range(300)])
    caught = results >= 0
    assert caught[:, 0].mean() > caught[:, 1].mean() + 0.2
    assert caught[:, 0].mean() > 0.8


def test_drift_in_control_switches_the_pooled_evidence_off() -> None:
    evidence = PooledEvidence(1.5)
    for _ in range(24):
        evidence.update(0, 15, 1, 285)  # control ~0.35 %
    evidence.restart()
    assert evidence.stable
    for _ in range(4):
        evidence.update(6, 150, 6, 150)  # control now at 4 %: a shared incident, not the canary
    assert not evidence.stable
    assert evidence.weighted([0.5, 0.25]) == 0.0
    assert evidence.log_e_values[-1] > math.log(100)  # what the guard keeps out


def test_leaning_favours_a_regression_only_when_the_canary_is_worse() -> None:
    worse, same = PooledEvidence(1.5), PooledEvidence(1.5)
    for _ in range(12):
        worse.update(1, 30, 1, 270)  # canary 3.3 %, control 0.37 %
        same.update(0, 30, 1, 270)
    assert worse.leaning_e_value > 1.0
    assert same.leaning_e_value < 1.0
    assert same.log_e_values[0] < 0.0


def test_one_canary_event_against_none_leans_only_while_it_is_a_material_share() -> None:
    from canaria.analysis.evidence import RatioEvidence

    pooled = PooledEvidence(1.5, min_excess=0.001)
    pooled.add_baseline(0, 5000)  # the stable version's past: no event either
    for evidence in (pooled, RatioEvidence(1.5, min_excess=0.001)):
        evidence.update(1, 100, 0, 100)
        assert evidence.leaning_e_value > 1.0, evidence  # 1 % of the canary's requests
        for _ in range(10):
            evidence.update(0, 100, 0, 100)
        assert evidence.leaning_e_value == 0.0, evidence  # 1 in 1,100: under 0.1 points
    literal = RatioEvidence(1.5)
    for _ in range(11):
        literal.update(int(not literal.canary_events), 100, 0, 100)
    assert literal.leaning_e_value > 1.0  # the count ratio alone never lets go of it


def test_the_null_maximum_over_many_starts_at_once_equals_the_scalar_one() -> None:
    from canaria.analysis.pooled import null_log_sup_rows

    rng = np.random.default_rng(21)
    nc = rng.integers(1, 400, size=200).astype(float)
    xc = np.floor(nc * rng.uniform(0, 0.08, size=200))
    for xb, nb in ((0.0, 500.0), (3.0, 2000.0), (40.0, 3000.0)):
        rows = null_log_sup_rows(xc, nc, xb, nb, 1.5)
        scalar = [null_log_sup(a, n, xb, nb, 1.5) for a, n in zip(xc, nc)]
        assert rows == pytest.approx(scalar, rel=1e-9, abs=1e-9)
