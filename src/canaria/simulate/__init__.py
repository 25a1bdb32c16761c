"""`canaria simulate`: synthetic incidents replayed through the real judge and the baselines, in simulated time.

Public API::

    run_simulation(scenarios, *, plan, analysis, guardrails, judges, runs, seed, workers) -> dict  # the JSON
    simulate(...) -> SimulationResult          # the same, with per-run results and judge cost
    render_table(result) / render_scenarios(result, judge) -> rich.table.Table
    load_scenarios(path) / parse_scenarios(text) -> ScenarioFile   # ConfigError names the bad field
    JUDGE_NAMES = ("canaria", "flagger", "kayenta", "runbook", "oracle")
"""

from canaria.simulate.api import SimulationResult, run_simulation, simulate
from canaria.simulate.judges import JUDGE_NAMES
from canaria.simulate.scenario import ScenarioFile, load_scenarios, parse_scenarios
from canaria.simulate.table import render_scenarios, render_table

__all__ = [
    "JUDGE_NAMES",
    "ScenarioFile",
    "SimulationResult",
    "load_scenarios",
    "parse_scenarios",
    "render_scenarios",
    "render_table",
    "run_simulation",
    "simulate",
]
