"""Theil-Sen slopes, significance against control, and the predicted guardrail crossing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.stats import theilslopes

from canaria.analysis.context import StageContext
from canaria.analysis.trend import analyse_trends, format_eta, theil_sen
from canaria.analysis.verdict import Decision
from canaria.analysis.window import VariantWindow, Window
from canaria.config import GuardrailConfig, TrendConfig, runbook_guardrails
from tests.analysis.builders import variant, window

MEMORY = [GuardrailConfig(metric="memory_pct", max=85.0, consecutive=2)]


@pytest.mark.parametrize("n", [6, 9, 12])
def test_theil_sen_matches_scipy_including_ties(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(30):
        t = np.arange(n) * 300.0
        y = np.round(rng.normal(50, 1, n) + 0.002 * t, 1)
        ours = theil_sen(t, y, 0.01)
        ref = theilslopes(y, t, alpha=0.99)
        assert (ours.slope, ours.intercept, ours.low, ours.high) == pytest.approx(
            (ref.slope, ref.intercept, ref.low_slope, ref.high_slope)
        )


def _memory_history(canary: list[float], control: list[float], stage: int = 0) -> list:
    return [window(k, variant(15, memory=c), variant(285, memory=b), stage=stage)
            for k, (c, b) in enumerate(zip(canary, control))]


def _ctx(elapsed_s: float, hold_s: float = 3600.0, next_hold_s: float = 3600.0) -> StageContext:
    return StageContext(stage_index=0, traffic=5.0, hold_s=hold_s, elapsed_in_stage_s=elapsed_s, interval_s=300.0,
                        next_stage_hold_s=next_hold_s)


def test_a_leak_predicted_to_cross_within_the_exposure_is_no_go_with_the_runbook_message() -> None:
    rng = np.random.default_rng(0)
    hours = np.arange(1, 13) * 300 / 3600
    level_now = 71.0
    canary = list(level_now - 18.0 * (hours[-1] - hours) + rng.normal(0, 0.3, 12))
    control = list(55.0 + rng.normal(0, 0.3, 12))
    (finding,) = analyse_trends(_memory_history(canary, control), _ctx(3000.0), MEMORY, TrendConfig())
    assert finding.rising and finding.decision is Decision.NO_GO
    assert finding.slope_per_h == pytest.approx(18.0, rel=0.1)
    assert finding.eta_s == pytest.approx((85 - 71) / 18 * 3600, rel=0.1)
    message = finding.reason().message
    assert re.fullmatch(r"memory 7\d\.\d% rising 1[78]\.\d%/h, predicted to cross 85% in 4\d min", message), message


def test_a_slow_rise_further_out_is_observe_and_noise_is_nothing() -> None:
    rng = np.random.default_rng(1)
    hours = np.arange(1, 13) * 300 / 3600
    slow = list(56.0 + 4.0 * hours + rng.normal(0, 0.2, 12))  # 85 % in ~7 h
    flat = list(55.0 + rng.normal(0, 0.2, 12))
    (rising,) = analyse_trends(_memory_history(slow, flat), _ctx(1800.0), MEMORY, TrendConfig())
    assert rising.decision is Decision.OBSERVE and rising.reason().key == "trend.rising"
    quiet = 0
    for seed in range(200):
        noise = np.random.default_rng(100 + seed)
        (finding,) = analyse_trends(
            _memory_history(list(55 + noise.normal(0, 1.0, 12)), list(55 + noise.normal(0, 1.0, 12))),
            _ctx(1800.0), MEMORY, TrendConfig())
        quiet += finding.decision is Decision.GO
    assert quiet >= 196


def test_a_rise_that_control_shares_is_load_not_a_leak() -> None:
    hours = np.arange(1, 13) * 300 / 3600
    both = list(40.0 + 30.0 * hours)
    rng = np.random.default_rng(2)
    findings = analyse_trends(_memory_history(list(np.array(both) + rng.normal(0, 0.3, 12)), both),
                              _ctx(1800.0), MEMORY, TrendConfig())
    assert findings[0].decision is Decision.GO and findings[0].relative_slope_per_h is not None


def test_cpu_is_fitted_within_the_stage_and_too_few_windows_give_no_finding() -> None:
    cpu = [GuardrailConfig(metric="cpu_pct", max=80.0, consecutive=3)]
    history = [window(k, variant(15, cpu=20.0 + 4 * k), variant(285, cpu=20.0), stage=0 if k < 8 else 1)
               for k in range(12)]
    ctx = StageContext(stage_index=1, traffic=10.0, hold_s=3600, elapsed_in_stage_s=1200, interval_s=300)
    assert analyse_trends(history, ctx, cpu, TrendConfig()) == []  # 4 windows in stage 1 < min_windows
    assert analyse_trends(history, _ctx(1800.0), runbook_guardrails(), TrendConfig(enabled=False)) == []


def test_eta_reads_like_a_countdown() -> None:
    assert format_eta(47 * 60) == "47 min"
    assert format_eta(125 * 60) == "2 h 05 min"


def test_eta_keeps_seconds_at_a_demos_scale_in_both_languages() -> None:
    assert format_eta(12) == "12 s"
    assert format_eta(90) == "1 min 30 s"
    assert format_eta(120) == "2 min"
    assert format_eta(0.4) == "0 s"
    assert format_eta(90, "ko") == "1분 30초"
    assert format_eta(125 * 60, "ko") == "2시간 05분"
    assert format_eta(12, "ko") == "12초"


def test_a_short_warm_up_is_not_extrapolated_hours_ahead() -> None:
    # twelve 2-second windows of a process warming up under new load: 0.2 % in 24 s is "40 %/h",
    # but a line fitted over 22 s says nothing about the next hour
    rising = [44.0 + 0.01 * k for k in range(12)]
    flat = [44.0] * 12
    history = [
        Window(start=2.0 * k, end=2.0 * (k + 1), control=VariantWindow(requests=100, memory_pct=c),
               canary=VariantWindow(requests=100, memory_pct=m))
        for k, (m, c) in enumerate(zip(rising, flat))
    ]
    (finding,) = analyse_trends(history, _ctx(10.0), MEMORY, TrendConfig())
    assert finding.decision is Decision.GO
    # the same rise over an hour of 5-minute windows is a leak worth holding for
    slow = [
        Window(start=300.0 * k, end=300.0 * (k + 1), control=VariantWindow(requests=100, memory_pct=c),
               canary=VariantWindow(requests=100, memory_pct=44.0 + 0.4 * k))
        for k, c in enumerate(flat)
    ]
    (leak,) = analyse_trends(slow, _ctx(1800.0), MEMORY, TrendConfig())
    assert leak.decision is not Decision.GO
