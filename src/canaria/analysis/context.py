"""Where the rollout stands when the judge is asked: the stage, its hold and the time spent in it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StageContext"]


@dataclass(frozen=True)
class StageContext:
    stage_index: int
    traffic: float  # canary percent in this stage
    hold_s: float  # the stage's planned hold
    elapsed_in_stage_s: float  # time since the stage's traffic was applied
    interval_s: float  # analysis interval (one window)
    next_stage_hold_s: float = 0.0  # hold of the next stage (0 when this is the last)
    is_last_stage: bool = False
    next_stage_traffic: float | None = None  # canary percent of the next stage, when the caller knows it

    @property
    def promotes_fully(self) -> bool:
        """A GO here puts the canary on all traffic: the last stage, or the step before 100 %."""
        return self.is_last_stage or (self.next_stage_traffic is not None and self.next_stage_traffic >= 100.0)

    @property
    def hold_remaining_s(self) -> float:
        return max(0.0, self.hold_s - self.elapsed_in_stage_s)
