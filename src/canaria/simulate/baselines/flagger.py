"""Flagger's analysis (fluxcd/flagger, builtin request-success-rate and request-duration checks).

Per interval, the canary passes when its request success rate (non-5xx share) is at least 99 % and its
P99 latency at most 500 ms. A failed interval increments `failedChecks`, which Flagger never resets during
an analysis; at `threshold` (5) failed checks the canary is rolled back. A metric query that returns no
value (no canary requests in the interval) fails the check too ("no values found"). After the stage's hold
without reaching the threshold, the canary advances.
"""

from __future__ import annotations

from dataclasses import dataclass

from canaria.analysis.verdict import Decision
from canaria.simulate.judge_api import Step, Tick

__all__ = ["FlaggerJudge"]


@dataclass
class FlaggerJudge:
    name: str = "flagger"
    min_success_rate_pct: float = 99.0
    max_p99_ms: float = 500.0
    threshold: int = 5
    failed_checks: int = 0

    def check_passes(self, tick: Tick) -> bool:
        canary = tick.history[-1].canary
        if canary.requests == 0:
            return False  # no values found: counts as a failed check
        success_rate = 100.0 * (canary.requests - canary.errors) / canary.requests
        p99 = canary.p99_ms
        return success_rate >= self.min_success_rate_pct and p99 is not None and p99 <= self.max_p99_ms

    def decide(self, tick: Tick) -> Step:
        if not self.check_passes(tick):
            self.failed_checks += 1
        if self.failed_checks >= self.threshold:
            return Step(Decision.NO_GO)
        if tick.ctx.elapsed_in_stage_s >= tick.ctx.hold_s:
            return Step(Decision.GO)
        return Step(Decision.OBSERVE)
