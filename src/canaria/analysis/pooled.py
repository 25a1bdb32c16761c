"""Evidence against a control pooled over the whole rollout: the stable version does not change during it.

Why. The concurrent test (evidence.py) asks, of each event, whose it is: it needs nothing constant, but at
50 % control's own noise is as large as the canary's and the test gets ~1/3.5 of the evidence a judge that
knew control's rate would get (docs/judge.md). Control's rate is, however, measured all along the
rollout: by the 50 % stage control has served ~4x the canary's requests. Assuming control's rate is
constant over the rollout, the canary's rate since a start s is compared with control's over everything.

How, and why it stays anytime-valid. With constant rates, each window's counts are two binomials (canary
and control); the nuisance is control's rate p. We use universal inference (Wasserman, Ramdas &
Balakrishnan, PNAS 2020): E_t = q(D_t) / sup_{H0} L(D_t). The numerator q is a predictable likelihood: each
window's counts are scored under p~, control's rate estimated from the windows *before* it (a plug-in,
"prequential" estimate), and the canary's under r0*g*p~ mixed over the ratio grid g; the denominator is the
exact maximum of the likelihood of all the data over the null p_c <= r0*p. For the true null parameter
theta*, q/L_theta* is a nonnegative martingale with mean 1 (q is a product of conditional densities), and
E_t <= q/L_theta*, so Ville's inequality gives P(sup_t E_t >= 1/alpha) <= alpha. The price of not knowing
p is the plug-in's regret (about 0.5 log of control's event count plus the first windows' miss of the
prior: ~2 nats at 1 req/s, against ~2.6 for a mixture over a log-uniform grid of p, which we tried first);
at 50 % it is repaid within ~3 windows.

The assumption is control's stationarity; a common drift (load, a dependency's incident) breaks it, which
the concurrent test survives. So the pooled evidence never replaces the concurrent test (compare.py gives
it half of each later stage's share and none of the rollout's start), and `stable` switches it off while
control's rate in the current stage is above its rate before the stage (a one-sided likelihood-ratio
check); multiplying an e-process by a 0/1 indicator keeps it one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import xlogy

from canaria.analysis.evidence import LEANING_MAX_RATIO, is_material

__all__ = ["DRIFT_LOG_LR", "POOLED_RATIO_GRID", "PRIOR_RATE", "PRIOR_REQUESTS", "PooledEvidence", "null_log_sup"]

#: alternatives as multiples of the null ratio: the effects that matter at 50 % (1.5x to 12x the tolerated
#: ratio), fewer points than evidence.RATIO_GRID because a larger effect is certain after one window anyway
POOLED_RATIO_GRID: np.ndarray = np.exp(np.linspace(math.log(1.5), math.log(12.0), 8))
#: the plug-in estimate of control's rate before any control data, and its weight in requests: it only
#: shapes the first windows' predictions (power), never validity
PRIOR_RATE = 0.005
PRIOR_REQUESTS = 100.0
#: control's rate in the current stage is "above its pooled rate" beyond this log likelihood ratio (a
#: one-sided z of ~1.6): the guard errs towards switching the pooled evidence off, which only costs power
DRIFT_LOG_LR = 1.35
_P_MAX = 1.0 - 1e-9


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def _binomial_loglik(events: float, trials: float, p: float) -> float:
    """log p^events (1-p)^(trials-events); the binomial coefficients cancel in every ratio taken here."""
    return _xlogy(events, p) + _xlogy(trials - events, 1.0 - p)


def null_log_sup(xc: float, nc: float, xb: float, nb: float, r0: float) -> float:
    """max over p_c <= r0*p_b of the two binomial log likelihoods (exact: the null's MLE)."""
    pc, pb = xc / nc, xb / nb
    if pc <= r0 * pb:
        return _binomial_loglik(xc, nc, pc) + _binomial_loglik(xb, nb, pb)
    x = xc + xb
    # on the boundary p_c = r0*p the log likelihood is concave in p; its stationary point is the smaller
    # root of A p^2 + B p + C = 0 (the derivative times p(1-p)(1-r0 p))
    a = r0 * (nb + nc)
    b = -(nb + r0 * nc + xc + r0 * xb)
    p = (-b - math.sqrt(max(0.0, b * b - 4.0 * a * x))) / (2.0 * a)
    p = min(max(p, 1e-300), _P_MAX / max(r0, 1.0))
    return _binomial_loglik(xc, nc, r0 * p) + _binomial_loglik(xb, nb, p)


def null_log_sup_rows(xc: np.ndarray, nc: np.ndarray, xb: float, nb: float, r0: float) -> np.ndarray:
    """`null_log_sup` for many canary tallies against one control tally at once (one per start)."""
    pc, pb = xc / nc, xb / nb
    x = xc + xb
    a = r0 * (nb + nc)
    b = -(nb + r0 * nc + xc + r0 * xb)
    p = (-b - np.sqrt(np.maximum(0.0, b * b - 4.0 * a * x))) / (2.0 * a)
    p = np.clip(p, 1e-300, _P_MAX / max(r0, 1.0))
    inside = pc <= r0 * pb  # the unconstrained maximum is already in the null
    pc_hat = np.where(inside, pc, r0 * p)
    pb_hat = np.where(inside, pb, p)
    return xlogy(xc, pc_hat) + xlogy(nc - xc, 1.0 - pc_hat) + xlogy(xb, pb_hat) + xlogy(nb - xb, 1.0 - pb_hat)


@dataclass
class PooledEvidence:
    """Universal-inference e-values for "canary rate <= null_ratio x control rate", control pooled.

    One canary tally per start (the rollout's, then each stage's, as `RatioEvidence`) with the log
    numerator of each alternative (column 0: the null's boundary, for the leaning factor); one control
    tally over the whole rollout with control's predictable log likelihood (the numerator's control half),
    and control's tally in the current stage for the drift guard. Arrays, not objects: it runs every tick.
    """

    null_ratio: float
    #: as RatioEvidence.min_excess: a start leans only while its canary rate exceeds null_ratio x control's
    #: pooled rate by more than this
    min_excess: float = 0.0
    control_events: float = 0.0
    control_exposure: float = 0.0
    control_log_q: float = 0.0
    stage_control: list[float] = field(default_factory=lambda: [0.0, 0.0])

    #: the rows started at a stage's start (the leaning factor reads only these)
    stage_rows: list[int] = field(default_factory=lambda: [0])
    _cache: dict[str, object] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._multiples = self.null_ratio * np.concatenate(([1.0], POOLED_RATIO_GRID))
        self._log_w = -math.log(len(POOLED_RATIO_GRID))
        self._leaning = 1 + int((POOLED_RATIO_GRID <= LEANING_MAX_RATIO).sum())
        self.log_q = np.zeros((1, len(self._multiples)))  # per start, per alternative (0: the null's boundary)
        self.canary = np.zeros((1, 2))  # per start: events, exposure

    @property
    def starts(self) -> int:
        return len(self.canary)

    def restart(self, *, stage: bool = True) -> None:
        self.log_q = np.vstack((self.log_q, np.zeros(len(self._multiples))))
        self.canary = np.vstack((self.canary, np.zeros(2)))
        if stage:
            self.stage_control = [0.0, 0.0]
            self.stage_rows.append(len(self.log_q) - 1)
        self._cache.clear()

    @property
    def control_estimate(self) -> float:
        """Control's rate from the windows so far, as the next window's prediction."""
        return (self.control_events + PRIOR_RATE * PRIOR_REQUESTS) / (self.control_exposure + PRIOR_REQUESTS)

    def add_baseline(self, control_events: float, control_exposure: float) -> None:
        """A control-only window from before the canary started (the stable version's own history): it joins
        the pool, scored like every control window, and counts as "before" for the drift guard."""
        if control_exposure <= 0:
            return
        self.control_log_q += _binomial_loglik(control_events, control_exposure, self.control_estimate)
        self.control_events += control_events
        self.control_exposure += control_exposure
        self._cache.clear()

    def update(self, canary_events: float, canary_exposure: float, control_events: float, control_exposure: float) -> None:
        if canary_exposure <= 0 or control_exposure <= 0:
            return
        p = self.control_estimate
        pc = np.minimum(self._multiples * p, _P_MAX)
        self.log_q += canary_events * np.log(pc) + (canary_exposure - canary_events) * np.log1p(-pc)
        self.canary += (canary_events, canary_exposure)
        self.control_log_q += _binomial_loglik(control_events, control_exposure, p)
        self.control_events += control_events
        self.control_exposure += control_exposure
        self.stage_control[0] += control_events
        self.stage_control[1] += control_exposure
        self._cache.clear()

    def _summarise(self) -> tuple[np.ndarray, float]:
        """Each start's log e-value and the leaning factor, from one pass over the numerators."""
        alternatives = self.log_q[:, 1:]
        top = alternatives.max(axis=1)
        scaled = np.exp(alternatives - top[:, None])
        log_q = top + np.log(scaled.sum(axis=1))
        # leaning: log mean over the modest alternatives of exp(log_q[g] - log_q[boundary]), per start; it
        # underflows to -inf only under a large alternative so far ahead that the e-value has long rejected
        xb, nb = self.control_events, self.control_exposure
        xc, nc = self.canary[:, 0], self.canary[:, 1]
        rows = [r for r in self.stage_rows
                if is_material(float(xc[r]), float(nc[r]), xb, nb, self.null_ratio, self.min_excess)]
        with np.errstate(divide="ignore"):
            log_lean = top[rows] - self.log_q[rows, 0] + np.log(scaled[rows, : self._leaning - 1].mean(axis=1))
        lean = math.exp(min(float(log_lean.max()), 700.0)) if len(rows) else 0.0
        if nb > 0:
            seen = nc > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                sup = null_log_sup_rows(xc, np.where(seen, nc, 1.0), xb, nb, self.null_ratio)
            log_e = np.where(seen, log_q + self._log_w + self.control_log_q - sup, 0.0)
        else:
            log_e = np.zeros(len(log_q))
        return log_e, lean

    def _summary(self) -> tuple[np.ndarray, float]:
        cached = self._cache.get("summary")
        if cached is None:
            cached = self._cache["summary"] = self._summarise()
        assert isinstance(cached, tuple)
        return cached

    @property
    def log_e_values(self) -> list[float]:
        """log e-value of each start (0 before any data)."""
        return self._summary()[0].tolist()

    @property
    def leaning_e_value(self) -> float:
        """The Bayes factor of the modest alternatives (up to LEANING_MAX_RATIO x the null) against the null's
        boundary, both scored with the same plug-in control rate, the largest over the starts: above 1 when
        any start's data favour a modest regression over none (see RatioEvidence.leaning_e_value)."""
        return self._summary()[1]

    @property
    def stable(self) -> bool:
        """False while control's rate in the current stage is significantly above its rate before it."""
        cached = self._cache.get("stable")
        if cached is None:
            cached = self._cache["stable"] = self._stable()
        return bool(cached)

    def _stable(self) -> bool:
        x1, n1 = self.stage_control
        x0, n0 = self.control_events - x1, self.control_exposure - n1
        if n0 <= 0 or n1 <= 0 or x1 / n1 <= x0 / n0:
            return True
        pooled = (x0 + x1) / (n0 + n1)
        log_lr = (
            _binomial_loglik(x1, n1, x1 / n1) + _binomial_loglik(x0, n0, x0 / n0)
            - _binomial_loglik(x1, n1, pooled) - _binomial_loglik(x0, n0, pooled)
        )
        return log_lr < DRIFT_LOG_LR

    def weighted(self, weights: list[float]) -> float:
        """sum_s weights[s] * e-value of start s, 0 while the guard is off."""
        if not self.stable or not any(weights):
            return 0.0
        return float(np.dot(weights, np.exp(np.minimum(self._summary()[0], 700.0))))
