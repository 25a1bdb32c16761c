"""The runbook's own NO-GO rules and nothing else: error rate > 1 % on 3 consecutive checks, P95 > 500 ms
on 3, memory > 85 % on 2 (CPU > 80 % on 3 from the team's wider config), as the configured rollback
guardrails. Every 5-minute check counts, however few requests it saw, as the runbook has no minimum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from canaria.analysis.guardrails import evaluate_guardrails
from canaria.analysis.verdict import Decision
from canaria.config import GuardrailConfig, runbook_guardrails
from canaria.simulate.judge_api import Step, Tick

__all__ = ["RunbookJudge"]


@dataclass
class RunbookJudge:
    name: str = "runbook"
    rules: Sequence[GuardrailConfig] = field(default_factory=runbook_guardrails)

    def __post_init__(self) -> None:
        self.rules = [rule for rule in self.rules if rule.action == "rollback"]

    def decide(self, tick: Tick) -> Step:
        statuses = evaluate_guardrails(tick.history, self.rules, min_requests=1)
        if any(status.breached for status in statuses):
            return Step(Decision.NO_GO)
        if tick.ctx.elapsed_in_stage_s >= tick.ctx.hold_s:
            return Step(Decision.GO)
        return Step(Decision.OBSERVE)
