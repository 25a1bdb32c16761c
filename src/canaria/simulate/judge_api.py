"""What every simulated judge sees and answers, so `canaria` and the baselines run under identical rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from canaria.analysis.context import StageContext
from canaria.analysis.verdict import Decision
from canaria.analysis.window import VariantWindow, Window
from canaria.simulate.generator import MinuteSeries, WindowTruth

__all__ = ["SimJudge", "Step", "Tick"]


@dataclass(frozen=True)
class Tick:
    """One checkpoint: every window so far (latest last), where the rollout stands, and per-minute detail."""

    history: Sequence[Window]
    ctx: StageContext
    minutes: Callable[[int], MinuteSeries]  # per-minute series of history[i]
    #: the generator's true rates behind history[i]; only the clairvoyant oracle reads them
    truth: Callable[[int], WindowTruth] | None = None
    #: the stable version's windows from before the canary started (all traffic on it), oldest first
    baseline: Sequence[VariantWindow] = ()


@dataclass(frozen=True)
class Step:
    decision: Decision
    needs_human: bool = False  # the rollout pauses for a person (OBSERVE that cannot resolve itself)


class SimJudge(Protocol):
    """A judge for one simulated rollout; a fresh instance per run, so it may keep state between ticks."""

    name: str

    def decide(self, tick: Tick) -> Step: ...
