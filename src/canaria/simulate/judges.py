"""The judges `canaria simulate` can run, by name: ours through the controller's own `evaluate`, the
baselines, and the clairvoyant oracle that bounds them all. A factory keyed by name, as Flagger keys its providers, so the runner never branches on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from canaria.analysis.judge import JudgeState, evaluate
from canaria.config import AnalysisConfig, GuardrailConfig
from canaria.errors import UsageError
from canaria.simulate.baselines.flagger import FlaggerJudge
from canaria.simulate.baselines.kayenta import KayentaJudge
from canaria.simulate.baselines.oracle import OracleJudge
from canaria.simulate.baselines.runbook import RunbookJudge
from canaria.simulate.judge_api import SimJudge, Step, Tick

__all__ = ["JUDGE_NAMES", "CanariaJudge", "make_judge"]


@dataclass
class CanariaJudge:
    """canaria's judge exactly as the controller calls it, with the incremental state kept between ticks."""

    guardrails: Sequence[GuardrailConfig]
    analysis: AnalysisConfig
    name: str = "canaria"
    state: JudgeState = field(default_factory=JudgeState)

    def decide(self, tick: Tick) -> Step:
        if self.state.comparison is None and not self.state.baseline:
            self.state.baseline = tick.baseline  # what the controller reads once before the first stage
        verdict = evaluate(tick.history, tick.ctx, self.guardrails, self.analysis, state=self.state)
        return Step(verdict.decision, needs_human=verdict.needs_human)


_FACTORIES: dict[str, Callable[[Sequence[GuardrailConfig], AnalysisConfig], SimJudge]] = {
    "canaria": lambda guardrails, analysis: CanariaJudge(guardrails=guardrails, analysis=analysis),
    "flagger": lambda guardrails, analysis: FlaggerJudge(),
    "kayenta": lambda guardrails, analysis: KayentaJudge(),
    "runbook": lambda guardrails, analysis: RunbookJudge(rules=list(guardrails)),
    "oracle": lambda guardrails, analysis: OracleJudge(analysis=analysis),
}

JUDGE_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def make_judge(name: str, *, guardrails: Sequence[GuardrailConfig], analysis: AnalysisConfig) -> SimJudge:
    """A fresh judge for one run."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise UsageError(f"unknown judge '{name}'; choose from {', '.join(JUDGE_NAMES)}") from None
    return factory(guardrails, analysis)
