"""How the comparison's alpha budget is shared among the e-processes it sums: the rollout's start, each
stage's start, the restarts inside a stage, and each start's pooled-control half.

Any weights fixed in advance and summing to at most 1 keep the weighted sum of e-processes an e-process
(Ville's inequality then bounds the false alarms of the whole comparison by alpha); how they are spread
decides where a fault is caught fastest. docs/judge.md measures each choice.
"""

from __future__ import annotations

__all__ = [
    "BASELINE_START_SHARE", "POOLED_SHARE", "RESTART_WEIGHTS", "WITHIN_STAGE_RESTARTS", "WITHIN_STAGE_SHARE",
    "pooled_share", "restart_weight", "split_budget",
]

#: shares of the budget of the evidence started at the rollout's start and at the next two stages; later
#: stages share the remaining 0.1 geometrically (0.05, 0.025...), so the sum is 1
RESTART_WEIGHTS = (0.45, 0.2, 0.25)
#: share of each stage's budget on e-processes restarted inside the stage, at its j-th window (j = 1, 2...,
#: up to WITHIN_STAGE_RESTARTS) with weight share/(j(j+1)): a fault that begins after a stage's first
#: windows is judged on its own data, not under the good windows before it, which drive the large
#: alternatives down fast (docs/judge.md). The weights over j sum to less than the share, so every start's
#: weights sum to at most 1 and the weighted sum stays an e-process.
WITHIN_STAGE_SHARE = 0.5
WITHIN_STAGE_RESTARTS = 12


def restart_weight(start: int) -> float:
    """Share of the budget of evidence started at the rollout's start (0) and at each later stage (1, 2...):
    any sequence summing to at most 1 keeps the weighted sum an e-process. Not a halving at each stage:
    the runbook's plan has three stages before all traffic, and the third (50 %) gets more than the second
    (10 %) because a bad request there comes five times as fast, so a nat of threshold costs five times as
    many bad requests (docs/judge.md)."""
    if start < len(RESTART_WEIGHTS):
        return RESTART_WEIGHTS[start]
    return 0.1 * 0.5 ** (start - len(RESTART_WEIGHTS) + 1)


#: share of each later stage's start, in the error and slow-count tests, on the evidence against control
#: pooled over the rollout (pooled.py); the rest stays on the concurrent test, valid whatever drift both
#: versions share (bursty or diurnal load, a dependency's incident). Without a baseline the rollout's own start keeps all of
#: its budget on the concurrent test: there the pool holds no control data the concurrent windows lack,
#: so pooling would only pay its regret (measured: 2.55x the oracle with a half share there, 2.43x without)
POOLED_SHARE = 0.5
#: the rollout's own start's share on the pooled control when a pre-canary baseline is given (the stable
#: version's history before the canary started): then the pool holds control data the concurrent windows lack
BASELINE_START_SHARE = 0.25


def pooled_share(stage_ordinal: int, has_baseline: bool) -> float:
    """Share of a start's budget on the pooled control, by the ordinal of the stage it belongs to."""
    if stage_ordinal == 0:
        return BASELINE_START_SHARE if has_baseline else 0.0
    return POOLED_SHARE


def split_budget(weights: list[float], row_stage: list[int], *, has_baseline: bool) -> tuple[list[float], list[float]]:
    """Each start's share of the budget (`row_stage`: the stage ordinal of each), split between its concurrent
    and its pooled e-process."""
    shares = [pooled_share(s, has_baseline) for s in row_stage]
    return [w * (1.0 - f) for w, f in zip(weights, shares)], [w * f for w, f in zip(weights, shares)]
