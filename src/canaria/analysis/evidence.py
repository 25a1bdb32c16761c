"""Mixture likelihood ratios on counts: the e-process behind every canary-vs-control comparison.

Lindon & Malek (NeurIPS 2022) test multinomial counts by conditioning on the arrival of each count: for two
Poisson processes with intensities r*n_c*p and n_b*p, the next event belongs to the first with probability
theta = r*n_c / (r*n_c + n_b), whatever the common p(t) is. Given the events of one window, the canary's
count is binomial in theta. Against a null r <= r0 we mix the likelihood ratios of alternatives
r = r0*g over a fixed grid of g > 1 with uniform weights: each component is a nonnegative supermartingale
under every null r' <= r0 (monotone likelihood ratio in theta), hence so is the mixture, and by Ville's
inequality P(sup_t E_t >= 1/alpha) <= alpha. Their conjugate Dirichlet mixture needs a fixed allocation;
ours changes with each stage and window, which the grid handles exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LEANING_MAX_RATIO", "RATIO_GRID", "RatioEvidence", "is_material", "log_lr_increment"]

#: Alternatives as multiples of the null ratio; a uniform prior on this log-spaced grid is the mixture. It
#: spans the effects that matter for a canary (1.5x to 24x the tolerated ratio: an error rate of 0.2 %
#: tolerated up to 0.3 % is caught from ~0.45 % upwards; beyond 24x the top component still gains evidence
#: with every event). Fewer, wider-spaced points cost less prior mass where the truth is (issue 15).
RATIO_GRID: np.ndarray = np.exp(np.linspace(math.log(1.5), math.log(24.0), 12))
_WEIGHTS = np.full(len(RATIO_GRID), 1.0 / len(RATIO_GRID))
_LOG_WEIGHTS = np.log(_WEIGHTS)
_LOG_GRID = np.log(RATIO_GRID)
#: the alternatives up to this multiple of the null ratio make the "leaning" Bayes factor (see below)
LEANING_MAX_RATIO = 5.0
_LEANING = int((RATIO_GRID <= LEANING_MAX_RATIO).sum())


def log_lr_increment(
    canary_events: np.ndarray | float,
    canary_exposure: np.ndarray | float,
    control_events: np.ndarray | float,
    control_exposure: np.ndarray | float,
    null_ratio: float,
    grid: np.ndarray = RATIO_GRID,
) -> np.ndarray:
    """Log likelihood ratio of alternatives r = null_ratio*grid against null_ratio for one batch of counts.

    Broadcasts: scalar counts give one value per grid point; arrays of shape (m,) give (m, len(grid)).
    Batches with no exposure on either side carry no information and add 0.
    """
    xc = np.asarray(canary_events, dtype=float)[..., None]
    xb = np.asarray(control_events, dtype=float)[..., None]
    nc = np.asarray(canary_exposure, dtype=float)[..., None]
    nb = np.asarray(control_exposure, dtype=float)[..., None]
    valid = (nc > 0) & (nb > 0)
    a = null_ratio * np.where(valid, nc, 1.0)
    nb_safe = np.where(valid, nb, 1.0)
    # theta/theta0 = g*(a+nb)/(a*g+nb); (1-theta)/(1-theta0) = (a+nb)/(a*g+nb)
    log_norm = np.log(a + nb_safe) - np.log(a * grid + nb_safe)
    increment = xc * np.log(grid) + (xc + xb) * log_norm
    return np.where(valid, increment, 0.0)


def is_material(canary_events: float, canary_exposure: float, control_events: float, control_exposure: float,
                null_ratio: float, min_excess: float) -> bool:
    """Whether the canary's rate exceeds `null_ratio` x control's by more than `min_excess` (an absolute rate)."""
    if canary_exposure <= 0:
        return False
    control_rate = control_events / control_exposure if control_exposure > 0 else 0.0
    return canary_events / canary_exposure - null_ratio * control_rate > min_excess


@dataclass
class RatioEvidence:
    """Running mixture likelihood ratios for "canary rate <= null_ratio x control rate".

    One row of `log_lr` per start: row 0 runs from the rollout's start, `restart()` adds a row that runs
    from now (ComparisonState weighs them). The counts cover the whole rollout, for the figures shown.
    """

    null_ratio: float
    #: a start leans only while the canary's rate since it exceeds null_ratio x control's by more than this
    #: (an absolute rate): one slow request against none is no regression, and no amount of waiting moves
    #: the count-ratio test off it (see `leaning_e_value`)
    min_excess: float = 0.0
    log_lr: np.ndarray = field(default_factory=lambda: np.zeros((1, len(RATIO_GRID))))
    #: per start: the four totals below when it started (its own counts are the totals now minus these)
    row_origins: list[tuple[float, float, float, float]] = field(default_factory=lambda: [(0.0, 0.0, 0.0, 0.0)])
    canary_events: float = 0.0
    canary_exposure: float = 0.0
    control_events: float = 0.0
    control_exposure: float = 0.0

    #: the rows started at a stage's start (the leaning factor reads only these)
    stage_rows: list[int] = field(default_factory=lambda: [0])
    _log_e: np.ndarray | None = field(default=None, init=False, repr=False)
    _row_mass: np.ndarray | None = field(default=None, init=False, repr=False)  # each start's e-value
    _leaning_value: float | None = field(default=None, init=False, repr=False)

    def _changed(self) -> None:
        self._log_e = self._row_mass = self._leaning_value = None

    def restart(self, *, stage: bool = True) -> None:
        self.log_lr = np.vstack((self.log_lr, np.zeros(len(RATIO_GRID))))
        self.row_origins.append(self.totals)
        if stage:
            self.stage_rows.append(len(self.log_lr) - 1)
        self._changed()

    def update(self, canary_events: float, canary_exposure: float, control_events: float, control_exposure: float) -> None:
        if canary_exposure <= 0 or control_exposure <= 0:
            return
        self.canary_events += canary_events
        self.canary_exposure += canary_exposure
        self.control_events += control_events
        self.control_exposure += control_exposure
        self._leaning_value = None  # the exposure moved the excess even when no event came
        events = canary_events + control_events
        if events > 0:
            # the scalar case of log_lr_increment, inlined: it runs for every window of every tick
            a = self.null_ratio * canary_exposure
            self.log_lr += canary_events * _LOG_GRID + events * (
                math.log(a + control_exposure) - np.log(a * RATIO_GRID + control_exposure)
            )
            self._changed()

    @property
    def log_e_values(self) -> np.ndarray:
        """log e-value of each start's mixture."""
        if self._log_e is None:
            top = self.log_lr.max(axis=1)
            self._log_e = top + np.log(np.exp(self.log_lr - top[:, None]).sum(axis=1)) + _LOG_WEIGHTS[0]
        return self._log_e

    @property
    def log_e_value(self) -> float:
        """From the rollout's start."""
        return float(self.log_e_values[0])

    @property
    def e_value(self) -> float:
        return math.exp(min(self.log_e_value, 700.0))

    @property
    def leaning_e_value(self) -> float:
        """The Bayes factor of the modest alternatives (up to LEANING_MAX_RATIO x the null), the largest over
        the stages' starts and unweighted: above 1 when any start's data favour a modest regression over none.
        The large alternatives are left out because a modestly bad canary drives them down fast, and their
        weight in the full mixture would hide it; a large regression is rejected outright long before.

        Only starts whose canary rate exceeds the tolerated rate by more than `min_excess` count (0 when
        none does): the ratio of counts cannot tell 1 slow request against 0 from a regression however long
        it waits (the likelihood ratio given the events depends on the counts alone), but the absolute
        excess shrinks as the canary serves more requests without another one."""
        if self._leaning_value is None:
            xc, nc, xb, nb = self.totals
            rows = []
            for r in self.stage_rows:
                oc, on, ob, onb = self.row_origins[r]
                if is_material(xc - oc, nc - on, xb - ob, nb - onb, self.null_ratio, self.min_excess):
                    rows.append(r)
            if not rows:
                self._leaning_value = 0.0
                return 0.0
            block = self.log_lr[rows, :_LEANING]
            top = block.max(axis=1)
            best = float((top + np.log(np.exp(block - top[:, None]).sum(axis=1) / _LEANING)).max())
            self._leaning_value = math.exp(min(best, 700.0))
        return self._leaning_value

    def weighted(self, weights: list[float]) -> float:
        """sum_s weights[s] * e-value of start s: an e-value when the weights sum to at most 1 (one weight
        per start, as ComparisonState keeps them)."""
        if self._row_mass is None:
            self._row_mass = np.exp(np.minimum(self.log_lr, 700.0)) @ _WEIGHTS
        return float(np.dot(weights, self._row_mass))

    @property
    def totals(self) -> tuple[float, float, float, float]:
        return self.canary_events, self.canary_exposure, self.control_events, self.control_exposure

    @property
    def canary_rate(self) -> float | None:
        return self.canary_events / self.canary_exposure if self.canary_exposure else None

    @property
    def control_rate(self) -> float | None:
        return self.control_events / self.control_exposure if self.control_exposure else None
