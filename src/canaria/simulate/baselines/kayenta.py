"""Kayenta's NetflixACAJudge (spinnaker/kayenta, kayenta-judge) on per-minute series, per interval.

For each metric (canary error rate and mean latency, one value per minute since the stage began, as a
Spinnaker canary stage with no lookback accumulates), minutes without requests are dropped (NaN strategy
"remove"); no data leaves the metric `Nodata`; identical samples, or all values tied, `Pass`; otherwise the
Mann-Whitney interval at 98 % confidence is compared with +-0.25 x |Hodges-Lehmann estimate| and the
metric is `High` when the lower bound exceeds it (direction "increase": a canary with fewer errors is not
failed). The score is the share of classified metrics that pass (no data at all scores 0). As a Spinnaker
canary stage does, an interval scoring at or below the marginal threshold (75) fails the canary at once,
and at the end of the stage's hold the canary advances only with a score of at least 95.

Not reproduced: Kayenta's IQR outlier removal before classification, which the issue's description of the
judge leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from canaria.analysis.verdict import Decision
from canaria.simulate.baselines.mannwhitney import lower_bound_is_positive, mann_whitney
from canaria.simulate.judge_api import Step, Tick

__all__ = ["KayentaJudge", "classify"]


def classify(canary: np.ndarray, control: np.ndarray, *, confidence: float = 0.98, tolerance: float = 0.25) -> str:
    """"Pass", "High" or "Nodata" for one metric, direction "increase"."""
    canary = canary[~np.isnan(canary)]
    control = control[~np.isnan(control)]
    if canary.size == 0 or control.size == 0:
        return "Nodata"
    if canary.size == control.size and np.array_equal(np.sort(canary), np.sort(control)):
        return "Pass"
    if canary.min() == canary.max() == control.min() == control.max():
        return "Pass"
    if not lower_bound_is_positive(canary, control, confidence):
        return "Pass"  # High needs lower > tolerance x |estimate| >= 0: decided without the full interval
    result = mann_whitney(canary, control, confidence)
    critical = tolerance * abs(result.estimate)
    return "High" if result.lower > critical else "Pass"


@dataclass
class KayentaJudge:
    name: str = "kayenta"
    confidence: float = 0.98
    tolerance: float = 0.25
    marginal: float = 75.0
    pass_score: float = 95.0
    last_score: float = 0.0
    # the stage's per-minute series so far, extended tick by tick: (stage, windows read, four series)
    _stage: int = -1
    _read: int = 0
    _series: list[list[np.ndarray]] = field(default_factory=list)

    def _stage_series(self, tick: Tick) -> list[np.ndarray]:
        stage = tick.ctx.stage_index
        if stage != self._stage or self._read > len(tick.history):
            first = next((i for i, w in enumerate(tick.history) if w.stage_index == stage), len(tick.history))
            self._stage, self._read, self._series = stage, first, [[], [], [], []]
        for i in range(self._read, len(tick.history)):
            if tick.history[i].stage_index == stage:
                minutes = tick.minutes(i)
                for series, values in zip(
                    self._series,
                    (minutes.canary_error_rate, minutes.control_error_rate, minutes.canary_mean_ms, minutes.control_mean_ms),
                ):
                    series.append(values)
        self._read = len(tick.history)
        return [np.concatenate(series) if series else np.zeros(0) for series in self._series]

    def score(self, tick: Tick) -> float:
        canary_errors, control_errors, canary_ms, control_ms = self._stage_series(tick)
        metrics = [(canary_errors, control_errors), (canary_ms, control_ms)]
        labels = [classify(c, b, confidence=self.confidence, tolerance=self.tolerance) for c, b in metrics]
        classified = [label for label in labels if label != "Nodata"]
        if not classified:
            return 0.0
        return 100.0 * sum(label == "Pass" for label in classified) / len(classified)

    def decide(self, tick: Tick) -> Step:
        self.last_score = self.score(tick)
        if self.last_score <= self.marginal:
            return Step(Decision.NO_GO)
        if tick.ctx.elapsed_in_stage_s >= tick.ctx.hold_s:
            return Step(Decision.GO if self.last_score >= self.pass_score else Decision.NO_GO)
        return Step(Decision.OBSERVE)
