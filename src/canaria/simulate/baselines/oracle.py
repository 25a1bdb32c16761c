"""A clairvoyant judge: what is possible at all with the data the windows hold.

It is told the generator's true rates for every window (`Tick.truth`): the canary's and control's error
rate and probability of a slow request, and the canary's mean memory and CPU reading with and without its
fault's slope. With both hypotheses known exactly, Wald's sequential probability ratio test is the
quickest test at its error rates (Wald & Wolfowitz 1948), so no judge that keeps its false alarms at the
same alpha can, on average, roll back on less evidence.

The statistic is the exact log likelihood ratio of the canary's window counts, "the canary as it truly is"
against the closest canary canaria must not roll back: each rate at most its tolerance above control's
(`analysis.compare.error_rate_tolerance`, `slow_rate_tolerance`), so the oracle answers the same question at
the same safety. The counts are errors and slow requests (the two halves of a bad request, drawn
independently by the generator, so their ratios multiply), plus the Gaussian ratio of the memory and CPU
readings when the fault adds a slope. It needs no control data and pays no mixture over unknown effect
sizes, no restart after a late onset and no split of alpha between tests. It rolls back when the ratio
reaches 1/alpha (canaria's `analysis.compare.alpha`), checked after every window like every other judge.

When the canary is truly within tolerance (and adds no slope) there is nothing to find, and it goes at the
end of every hold. A canary it knows is bad it still moves on at the end of each hold (a bad request costs
the same evidence at 5 % as at 50 %, and comes faster at 50 %), but never to all traffic: there it holds
until the evidence is in at level alpha.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

from canaria.analysis.verdict import Decision
from canaria.config import AnalysisConfig
from canaria.foundation.histogram import BUCKET_BOUNDS_MS
from canaria.simulate.generator import WindowTruth
from canaria.simulate.judge_api import Step, Tick

__all__ = ["OracleJudge", "binomial_log_lr", "gaussian_log_lr"]


def binomial_log_lr(events: int, trials: int, p_alternative: float, p_null: float) -> float:
    """log P(events | trials, p_alternative) / P(events | trials, p_null); 0 when the two coincide."""
    if trials <= 0 or p_alternative == p_null:
        return 0.0
    failures = trials - events
    if (events and p_null <= 0.0) or (failures and p_null >= 1.0):
        return math.inf  # impossible under the null
    if (events and p_alternative <= 0.0) or (failures and p_alternative >= 1.0):
        return -math.inf
    total = 0.0
    if events:
        total += events * math.log(p_alternative / p_null)
    if failures:
        total += failures * math.log((1.0 - p_alternative) / (1.0 - p_null))
    return total


def gaussian_log_lr(reading: float | None, mean_alternative: float, mean_null: float, sd: float) -> float:
    """log N(reading; mean_alternative, sd) / N(reading; mean_null, sd); 0 without a reading or noise."""
    if reading is None or sd <= 0.0 or mean_alternative == mean_null:
        return 0.0
    return ((reading - mean_null) ** 2 - (reading - mean_alternative) ** 2) / (2.0 * sd * sd)


@dataclass
class OracleJudge:
    """Wald's SPRT with the truth known; a fresh instance per run (it keeps the running ratio)."""

    analysis: AnalysisConfig
    name: str = "oracle"
    log_lr: float = 0.0
    consumed: int = 0

    def __post_init__(self) -> None:
        self._reject_at = math.log(1.0 / self.analysis.compare.alpha)
        self._slow_bucket = bisect_left(BUCKET_BOUNDS_MS, self.analysis.compare.slow_ms)

    def _nulls(self, truth: WindowTruth) -> tuple[float, float]:
        """The null closest to the truth: each rate at most canaria's tolerance above control's."""
        compare = self.analysis.compare
        return (
            min(truth.canary_error_rate, (1.0 + compare.error_rate_tolerance) * truth.control_error_rate),
            min(truth.canary_slow_share, (1.0 + compare.slow_rate_tolerance) * truth.control_slow_share),
        )

    def _bad(self, truth: WindowTruth) -> bool:
        error_null, slow_null = self._nulls(truth)
        return (
            truth.canary_error_rate > error_null
            or truth.canary_slow_share > slow_null
            or truth.canary_memory_pct != truth.canary_memory_no_leak_pct
            or truth.canary_cpu_pct != truth.canary_cpu_no_rise_pct
        )

    def decide(self, tick: Tick) -> Step:
        if tick.truth is None:
            raise ValueError("the oracle judge needs the generator's truth (it runs only in canaria simulate)")
        for i in range(self.consumed, len(tick.history)):
            canary, truth = tick.history[i].canary, tick.truth(i)
            if not self._bad(truth):
                continue  # the canary is within tolerance here: its data carry no evidence either way
            error_null, slow_null = self._nulls(truth)
            slow = sum(canary.latency.counts[self._slow_bucket :]) if canary.latency.count else 0
            self.log_lr += (
                binomial_log_lr(canary.errors, canary.requests, truth.canary_error_rate, error_null)
                + binomial_log_lr(slow, canary.latency.count, truth.canary_slow_share, slow_null)
                + gaussian_log_lr(
                    canary.memory_pct, truth.canary_memory_pct, truth.canary_memory_no_leak_pct, truth.memory_noise_pct
                )
                + gaussian_log_lr(canary.cpu_pct, truth.canary_cpu_pct, truth.canary_cpu_no_rise_pct, truth.cpu_noise_pct)
            )
        self.consumed = len(tick.history)
        if self.log_lr >= self._reject_at:
            return Step(Decision.NO_GO)
        if tick.ctx.elapsed_in_stage_s < tick.ctx.hold_s:
            return Step(Decision.OBSERVE)
        if tick.ctx.promotes_fully and self._bad(tick.truth(len(tick.history) - 1)):
            return Step(Decision.OBSERVE)  # never promote a canary it knows is bad; wait here for the proof
        return Step(Decision.GO)
