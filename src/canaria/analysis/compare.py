"""Canary against control, anytime-valid: evidence accumulates over the rollout and may be read every tick.

Why this test. A fixed-sample test checked every five minutes inflates false alarms without bound. We use
e-processes (test supermartingales): by Ville's inequality P(sup_t E_t >= 1/alpha) <= alpha under the null,
so rejecting the first time E_t >= 1/alpha is valid however often, and however long, the judge looks.

Errors (Lindon & Malek, "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022, section on
time-inhomogeneous Poisson processes; Lindon, Sanden & Shirikian, "Rapid Regression Detection in Software
Deployments through Sequential Testing", KDD 2022). Errors of canary and control are Poisson counts with
intensities n_c*p_c(t) and n_b*p_b(t), where n are the requests served. Conditioned on an error occurring,
it is the canary's with probability theta = r*n_c / (r*n_c + n_b), r = p_c/p_b: a load pattern common to
both versions (diurnal traffic, bursts) cancels. Their Dirichlet-multinomial Bayes factor needs a fixed
allocation; ours changes with every stage and with the realised request counts, so we mix the per-window
likelihood ratios over a fixed grid of ratios r = (1+tol)*g, g > 1. Each component is a nonnegative
supermartingale under every r' <= 1+tol (the binomial family has a monotone likelihood ratio), so the
mixture is an e-process for the composite null "canary rate <= (1+tol) x control rate".

Latency (our choice; see docs/judge.md). The null "the canary is no slower than (1+tau) x control at any
quantile" means P(canary > (1+tau)*t) <= P(control > t) for every threshold t. For thresholds t fixed before
a window (control's P50/P95/P99 from earlier windows, and the objective slow_ms), the exceedance counts are
again two counts and the same conditional test applies with null ratio 1 (for slow_ms, 1 +
slow_rate_tolerance). With null ratio 1 the exact conditional law is hypergeometric, which is smaller in
convex order than the binomial we use (Hoeffding 1963), so the test is conservative; for rare events (errors)
the binomial is the Poisson limit Lindon & Malek work in. The latency e-process is a weighted mean of the
per-threshold e-processes (a convex combination of e-processes is one): five sixths on the objective, a
sixth shared by the quantiles.

Evidence also restarts at each stage with its share of the budget (ComparisonState, restart_weight), half
of it again at the stage's first windows (WITHIN_STAGE_SHARE), and from each later stage's start (and the
rollout's, given a pre-canary baseline) the error and slow-count tests also weigh the canary against control
pooled over the whole rollout (pooled.py: the stable version does not change during it). Alpha is split evenly between the error and the latency test, so the comparison as a whole
falsely flags a canary that is within tolerance with probability at most alpha over the whole rollout
(for the pooled half, provided control's rates do not drift upwards unseen by its guard).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import add

from canaria.analysis.budget import WITHIN_STAGE_RESTARTS, WITHIN_STAGE_SHARE, restart_weight, split_budget
from canaria.analysis.evidence import RatioEvidence
from canaria.analysis.pooled import PooledEvidence
from canaria.analysis.verdict import Decision, Reason, Severity
from canaria.analysis.window import VariantWindow, Window
from canaria.config import CompareConfig
from canaria.foundation.histogram import BUCKET_BOUNDS_MS

__all__ = ["Comparison", "ComparisonState", "compare"]

#: share of the latency test's budget on the objective (slow_ms): the requests users feel as slow, which
#: is what "bad requests" count; the control quantiles (slowdowns that stay under the objective) share the
#: rest. 5/6 rather than 2/3: on the public suite's tail regressions it saves ~0.2 nats where it matters
SLOW_SHARE = 5.0 / 6.0
_MIN_CONTROL_FOR_THRESHOLDS = 50  # control requests seen before a quantile threshold is taken
_WARN_FRACTION = 0.5  # share of the way (in log evidence) to rejection at which a finding is reported


@dataclass(frozen=True)
class Comparison:
    """One comparison's standing: its e-value against the rejection level, and the figures behind it."""

    check: str  # "compare.error_rate" | "compare.latency"
    e_value: float
    reject_at: float  # 1 / alpha_share
    canary_value: float | None
    control_value: float | None
    tolerance: float  # relative, e.g. 0.5 = +50 %
    detail: str  # which statistic carries the evidence, e.g. "error_rate", "p95_ms", "slow_share"
    evidence: str
    canary_requests: int
    #: the largest unweighted "leaning" Bayes factor of any start and statistic: > 1 when any of them favours
    #: a modest regression (a late start weighs little in `e_value`, but its data lean just as much)
    leaning: float = 1.0

    @property
    def rejected(self) -> bool:
        return self.e_value >= self.reject_at

    @property
    def evidence_fraction(self) -> float:
        """0 with no evidence of regression, 1 at the rejection level (log scale)."""
        if self.e_value <= 1.0:
            return 0.0
        return min(1.0, math.log(self.e_value) / math.log(self.reject_at))

    def reason(self) -> Reason:
        figures = _describe(self)
        if self.rejected:
            severity, decision, key = Severity.CRITICAL, Decision.NO_GO, f"{self.check}.regression"
            message = f"{figures}: regression beyond tolerance ({self.evidence})"
        elif self.evidence_fraction >= _WARN_FRACTION:
            severity, decision, key = Severity.WARNING, Decision.GO, f"{self.check}.suspect"
            message = f"{figures}: leaning worse than control, not yet conclusive ({self.evidence})"
        else:
            severity, decision, key = Severity.OK, Decision.GO, f"{self.check}.ok"
            message = f"{figures}: within tolerance ({self.evidence})"
        return Reason(
            check=self.check,
            severity=severity,
            decision=decision,
            message=message,
            key=key,
            params={
                "detail": self.detail,
                "canary": self.canary_value,
                "control": self.control_value,
                "tolerance": self.tolerance,
                "e_value": round(self.e_value, 3),
                "reject_at": round(self.reject_at, 3),
                "canary_requests": self.canary_requests,
            },
            canary_value=self.canary_value,
            control_value=self.control_value,
            threshold=self.tolerance,
            evidence=self.evidence,
        )


def _describe(c: Comparison) -> str:
    tol = f"tolerance +{c.tolerance:.0%}"
    if c.canary_value is None or c.control_value is None:
        return f"{c.detail}: no comparable data yet"
    if c.detail == "error_rate":
        return f"error rate {c.canary_value:.2f}% vs control {c.control_value:.2f}% ({tol})"
    if c.detail == "slow_share":
        return f"requests slower than objective {c.canary_value:.2f}% vs control {c.control_value:.2f}% ({tol})"
    label = c.detail.removesuffix("_ms").upper()
    change = (c.canary_value / c.control_value - 1.0) if c.control_value else 0.0
    return f"{label} {c.canary_value:.0f} ms vs control {c.control_value:.0f} ms ({change:+.0%}; {tol})"


def _bucket_quantile(counts: Sequence[float], q: float) -> float | None:
    """Upper bound (ms) of the bucket holding the q-quantile: interpolation-free, like the thresholds."""
    cumulative = list(accumulate(counts))
    if not cumulative or cumulative[-1] <= 0:
        return None
    index = bisect_left(cumulative, q * cumulative[-1])
    return BUCKET_BOUNDS_MS[min(index, len(BUCKET_BOUNDS_MS) - 1)]


class ComparisonState:
    """Evidence so far; `update` consumes new windows only, so the judge costs O(1) per tick.

    Evidence restarts with every stage, at its share of the budget (0.45 for the rollout's start, 0.2 for
    the second stage, 0.25 for the third, then 0.05, 0.025...), and within a stage at its j-th window with
    weight share*WITHIN_STAGE_SHARE/(j(j+1)): the weighted sum of e-processes started at those points is
    still an e-process, and a fault that appears late is not buried under the good data before it (the
    alternatives far from the null lose most during that time).

    Windows are identified by (start, end); if the history passed in does not extend what was consumed
    (a different rollout, a restart with other data), the state starts again from the first window.
    """

    def __init__(self, config: CompareConfig, baseline: Sequence[VariantWindow] = ()) -> None:
        #: control-only windows from before the rollout (optional): they join the pooled control and give the
        #: quantile thresholds from the first window
        self.baseline = tuple(baseline)
        self._reset(config)

    def _reset(self, config: CompareConfig) -> None:
        self.config = config
        # share of the budget of each start: the rollout's, then each stage's, and the restarts inside a stage
        self.weights = [restart_weight(0) * (1.0 - WITHIN_STAGE_SHARE)]
        self._row_stage = [0]  # ordinal of the stage each start belongs to (0: the rollout's first)
        self._stage_windows = 0  # windows consumed in the current stage
        floor = config.min_rate_delta_pct / 100.0
        self.errors = RatioEvidence(null_ratio=1.0 + config.error_rate_tolerance, min_excess=floor)
        self.quantiles = [RatioEvidence(null_ratio=1.0, min_excess=floor) for _ in config.latency_quantiles]
        self.slow = RatioEvidence(null_ratio=1.0 + config.slow_rate_tolerance, min_excess=floor)
        self.pooled_errors = PooledEvidence(null_ratio=1.0 + config.error_rate_tolerance, min_excess=floor)
        self.pooled_slow = PooledEvidence(null_ratio=1.0 + config.slow_rate_tolerance, min_excess=floor)
        self.control_latency: list[int] | None = None  # pooled bucket counts
        self.canary_latency: list[int] | None = None
        self.canary_requests = 0
        self._keys: list[tuple[float, float]] = []
        self._stage: int | None = None
        self._slow_index = bisect_left(BUCKET_BOUNDS_MS, config.slow_ms)
        # (quantile position, control bucket i, canary bucket j) for the next window, from earlier control data
        self._thresholds: list[tuple[int, int, int]] = []
        for control in self.baseline:
            self.pooled_errors.add_baseline(control.errors, control.requests)
            if control.latency.count > 0:
                counts = control.latency.counts
                self.pooled_slow.add_baseline(sum(counts[self._slow_index :]), control.latency.count)
                before: list[int] | None = self.control_latency
                self.control_latency = list(counts) if before is None else list(map(add, before, counts))
        if self.control_latency is not None:
            self._thresholds = self._next_thresholds(self.control_latency)

    def update(self, history: Sequence[Window], config: CompareConfig | None = None) -> ComparisonState:
        """Consume the windows of `history` not seen yet (all of them if it is not a continuation)."""
        consumed = len(self._keys)
        stale = consumed and (
            len(history) < consumed or (history[consumed - 1].start, history[consumed - 1].end) != self._keys[-1]
        )
        if stale or (config is not None and config != self.config):
            self._reset(config or self.config)
            consumed = 0
        for window in history[consumed:]:
            if self._stage is not None and window.stage_index != self._stage:
                ordinal = self._row_stage[-1] + 1
                self._add_start(ordinal, restart_weight(ordinal) * (1.0 - WITHIN_STAGE_SHARE), stage=True)
                self._stage_windows = 0
            elif self._stage is not None and 1 <= self._stage_windows <= WITHIN_STAGE_RESTARTS:
                j, ordinal = self._stage_windows, self._row_stage[-1]
                self._add_start(ordinal, restart_weight(ordinal) * WITHIN_STAGE_SHARE / (j * (j + 1)), stage=False)
            self._stage = window.stage_index
            self._stage_windows += 1
            self._consume(window)
            self._keys.append((window.start, window.end))
        return self

    def _add_start(self, ordinal: int, weight: float, *, stage: bool) -> None:
        self.weights.append(weight)
        self._row_stage.append(ordinal)
        for evidence in (self.errors, self.slow, *self.quantiles):
            evidence.restart(stage=stage)
        self.pooled_errors.restart(stage=stage)
        self.pooled_slow.restart(stage=stage)

    def _consume(self, window: Window) -> None:
        # Plain list slices, not numpy: a window's histogram is a 322-long list and converting it costs
        # more than the few sums the tests need.
        canary, control = window.canary, window.control
        self.canary_requests += canary.requests
        self.errors.update(canary.errors, canary.requests, control.errors, control.requests)
        self.pooled_errors.update(canary.errors, canary.requests, control.errors, control.requests)
        canary_counts, control_counts = canary.latency.counts, control.latency.counts
        n_canary, n_control = canary.latency.count, control.latency.count
        if n_canary > 0 and n_control > 0:
            s = self._slow_index
            slow_canary, slow_control = sum(canary_counts[s:]), sum(control_counts[s:])
            self.slow.update(slow_canary, n_canary, slow_control, n_control)
            self.pooled_slow.update(slow_canary, n_canary, slow_control, n_control)
            for k, i, j in self._thresholds:
                # control slower than bounds[i]; canary slower than bounds[j] >= (1+tau)*bounds[i]
                self.quantiles[k].update(sum(canary_counts[j + 1 :]), n_canary, sum(control_counts[i + 1 :]), n_control)
        if n_control > 0:
            pooled = self.control_latency
            self.control_latency = list(control_counts) if pooled is None else list(map(add, pooled, control_counts))
            self._thresholds = self._next_thresholds(self.control_latency)
        if n_canary > 0:
            pooled = self.canary_latency
            self.canary_latency = list(canary_counts) if pooled is None else list(map(add, pooled, canary_counts))

    def _next_thresholds(self, pooled: list[int]) -> list[tuple[int, int, int]]:
        cumulative = list(accumulate(pooled))
        total = cumulative[-1]
        if total < _MIN_CONTROL_FOR_THRESHOLDS:
            return []
        scale = 1.0 + self.config.latency_tolerance
        last = len(BUCKET_BOUNDS_MS) - 1
        thresholds = []
        for k, q in enumerate(self.config.latency_quantiles):
            i = bisect_left(cumulative, q * total)
            if i >= last:
                continue
            # at least (1+tau)x and at least latency_min_delta_ms slower: a higher canary threshold only makes
            # P(canary > it) smaller, so the test stays valid for the null "(1+tau)x control"
            bound = BUCKET_BOUNDS_MS[i]
            j = bisect_left(BUCKET_BOUNDS_MS, max(scale * bound, bound + self.config.latency_min_delta_ms))
            if j <= last:
                thresholds.append((k, i, j))
        return thresholds

    # ------------------------------------------------------------------ results

    def _budget_split(self) -> tuple[list[float], list[float]]:
        return split_budget(self.weights, self._row_stage, has_baseline=bool(self.baseline))

    def error_comparison(self, reject_at: float) -> Comparison:
        ev = self.errors
        canary_rate, control_rate = ev.canary_rate, ev.control_rate
        e_value = _combined(ev, self.pooled_errors, self._budget_split())
        return Comparison(
            check="compare.error_rate",
            e_value=e_value,
            reject_at=reject_at,
            canary_value=None if canary_rate is None else canary_rate * 100.0,
            control_value=None if control_rate is None or canary_rate is None else control_rate * 100.0,
            tolerance=self.config.error_rate_tolerance,
            detail="error_rate",
            evidence=(
                f"{int(ev.canary_events)}/{int(ev.canary_exposure)} canary vs "
                f"{int(ev.control_events)}/{int(ev.control_exposure)} control errors; "
                f"e-value {_fmt_e(e_value)} of {_fmt_e(reject_at)} needed"
            ),
            canary_requests=self.canary_requests,
            leaning=max(ev.leaning_e_value, self.pooled_errors.leaning_e_value),
        )

    def latency_comparison(self, reject_at: float) -> Comparison:
        quantiles = self.config.latency_quantiles
        share = (1.0 - SLOW_SHARE) / len(quantiles)
        contributions = [share * evidence.weighted(self.weights) for evidence in self.quantiles]
        contributions.append(SLOW_SHARE * _combined(self.slow, self.pooled_slow, self._budget_split()))
        e_value = sum(contributions)
        top = contributions.index(max(contributions))
        canary_value: float | None
        control_value: float | None
        if top == len(quantiles):
            name, driver = "slow_share", self.slow
            canary_value = None if driver.canary_rate is None else driver.canary_rate * 100.0
            control_value = None if driver.control_rate is None else driver.control_rate * 100.0
            tolerance = self.config.slow_rate_tolerance
            counted = f"slower than {self.config.slow_ms:.0f} ms"
        else:
            q = quantiles[top]
            name, driver = f"p{round(q * 100):d}_ms", self.quantiles[top]
            canary_value = None if self.canary_latency is None else _bucket_quantile(self.canary_latency, q)
            control_value = None if self.control_latency is None else _bucket_quantile(self.control_latency, q)
            tolerance = self.config.latency_tolerance
            counted = f"beyond (1+{tolerance:g})x control {name.removesuffix('_ms').upper()}"
        return Comparison(
            check="compare.latency",
            e_value=e_value,
            reject_at=reject_at,
            canary_value=canary_value,
            control_value=control_value if canary_value is not None else None,
            tolerance=tolerance,
            detail=name,
            evidence=(
                f"{int(driver.canary_events)}/{int(driver.canary_exposure)} canary vs "
                f"{int(driver.control_events)}/{int(driver.control_exposure)} control requests {counted}; "
                f"e-value {_fmt_e(e_value)} of {_fmt_e(reject_at)} needed"
            ),
            canary_requests=self.canary_requests,
            leaning=max(
                *(evidence.leaning_e_value for evidence in (self.slow, *self.quantiles)),
                self.pooled_slow.leaning_e_value,
            ),
        )


def _combined(concurrent: RatioEvidence, pooled: PooledEvidence, split: tuple[list[float], list[float]]) -> float:
    """One statistic's e-value: per start, a convex combination of its concurrent and pooled e-processes."""
    return concurrent.weighted(split[0]) + pooled.weighted(split[1])


def _fmt_e(value: float) -> str:
    if value >= 1e6:
        return f"{value:.1e}"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def compare(
    history: Sequence[Window],
    config: CompareConfig,
    *,
    state: ComparisonState | None = None,
    baseline: Sequence[VariantWindow] = (),
) -> list[Comparison]:
    """The error and latency comparisons over all windows of the rollout (empty when disabled).

    `baseline`: control-only windows from before the canary started, if the caller has them (used only when
    no `state` is given; a state keeps the baseline it was made with)."""
    if not config.enabled:
        return []
    current = (state or ComparisonState(config, baseline)).update(history, config)
    reject_at = 2.0 / config.alpha  # alpha split between the two tests
    return [current.error_comparison(reject_at), current.latency_comparison(reject_at)]
