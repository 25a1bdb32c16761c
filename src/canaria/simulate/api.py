"""`canaria simulate`'s entry point: scenarios in, the DESIGN.md section 3 JSON object out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canaria.config import AnalysisConfig, GuardrailConfig, PlanConfig, runbook_guardrails
from canaria.errors import UsageError
from canaria.simulate.judges import JUDGE_NAMES
from canaria.simulate.metrics import judge_summary
from canaria.simulate.runner import RunResult, SimulationSetup, execute
from canaria.simulate.scenario import ResolvedScenario, ScenarioFile, load_scenarios

__all__ = ["SimulationResult", "run_simulation", "simulate"]


@dataclass(frozen=True)
class SimulationResult:
    scenarios: Sequence[ResolvedScenario]
    results: dict[str, list[list[RunResult]]]  # judge -> scenario -> runs

    def to_json(self) -> dict[str, Any]:
        return {"judges": [judge_summary(name, self.scenarios, runs) for name, runs in self.results.items()]}

    def judge_cost_ms(self) -> dict[str, float]:
        """Mean wall time of one judge call, per judge."""
        cost: dict[str, float] = {}
        for name, per_scenario in self.results.items():
            ticks = sum(r.ticks for runs in per_scenario for r in runs)
            seconds = sum(r.judge_s for runs in per_scenario for r in runs)
            cost[name] = 1000.0 * seconds / ticks if ticks else 0.0
        return cost


def _scenarios(source: str | Path | ScenarioFile) -> list[ResolvedScenario]:
    model = source if isinstance(source, ScenarioFile) else load_scenarios(source)
    return model.resolved()


def simulate(
    scenarios: str | Path | ScenarioFile,
    *,
    plan: PlanConfig | None = None,
    analysis: AnalysisConfig | None = None,
    guardrails: Sequence[GuardrailConfig] | None = None,
    judges: Sequence[str] = JUDGE_NAMES,
    runs: int | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> SimulationResult:
    """Replay every scenario `runs` times (default: the file's) through each judge in simulated time.

    Without a plan, analysis or guardrails the runbook's are used (5/10/50 % for an hour each, then 100 %,
    checked every 5 minutes). `workers` > 1 spreads runs over processes; results do not depend on it.
    """
    names = list(dict.fromkeys(judges))
    unknown = [n for n in names if n not in JUDGE_NAMES]
    if not names or unknown:
        raise UsageError(f"unknown judge {', '.join(unknown) or '(none)'}; choose from {', '.join(JUDGE_NAMES)}")
    if runs is not None and runs < 1:
        raise UsageError("--runs must be at least 1")
    resolved = _scenarios(scenarios)
    setup = SimulationSetup(
        plan=plan or PlanConfig(),
        analysis=analysis or AnalysisConfig(),
        guardrails=list(guardrails) if guardrails is not None else runbook_guardrails(),
        judges=names,
        seed=seed,
    )
    return SimulationResult(resolved, execute(resolved, runs, setup, workers))


def run_simulation(
    scenarios_file_or_model: str | Path | ScenarioFile,
    *,
    plan: PlanConfig | None = None,
    analysis: AnalysisConfig | None = None,
    guardrails: Sequence[GuardrailConfig] | None = None,
    judges: Sequence[str] = JUDGE_NAMES,
    runs: int | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> dict[str, Any]:
    """The `simulate --json` object: {"judges": [{"judge", "scenarios", "runs", ..., "by_scenario"}]}."""
    return simulate(
        scenarios_file_or_model, plan=plan, analysis=analysis, guardrails=guardrails, judges=judges, runs=runs,
        seed=seed, workers=workers,
    ).to_json()
