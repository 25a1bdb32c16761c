"""Benchmark: all four judges on the public suite, at the runbook's traffic and at high traffic.

    PYTHONPATH=src python bench/judges.py [--runs 200] [--workers 2] [--json out.json]

Prints the summary table per traffic level, canaria's figures per scenario, the judge's cost per tick and
the issue's goals with a tick or a cross. Goals are printed, not asserted: they depend on the machine (time)
and on the suite (what is detectable at ~15 canary requests per check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from canaria.analysis.context import StageContext
from canaria.analysis.judge import JudgeState, evaluate
from canaria.config import AnalysisConfig, PlanConfig, runbook_guardrails
from canaria.simulate import render_scenarios, render_table, simulate
from canaria.simulate.generator import RunSource
from canaria.simulate.runner import plan_minimum_s
from canaria.simulate.scenario import load_scenarios

HERE = Path(__file__).resolve().parent
SUITES = {"runbook traffic (1 req/s)": HERE / "scenarios" / "public.yaml",
          "high traffic (50 req/s)": HERE / "scenarios" / "public-high.yaml"}


def judge_cost_ms(path: Path, ticks: int = 72) -> tuple[float, float]:
    """Mean ms per tick over a 6 h rollout: with the incremental state (as simulate and a long-running
    controller use it) and recomputing from the whole history every tick (the stateless call)."""
    scenario = load_scenarios(path).resolved()[0]
    source = RunSource(scenario, run=0, seed=0, interval_s=300.0)
    history = [source.window(k, min(k // 12, 2), (5.0, 10.0, 50.0)[min(k // 12, 2)]) for k in range(ticks)]
    guardrails, analysis = runbook_guardrails(), AnalysisConfig()
    timings: dict[str, list[float]] = {"state": [], "stateless": []}
    for mode, spent in timings.items():
        state = JudgeState() if mode == "state" else None
        for t in range(1, ticks + 1):
            stage = min((t - 1) // 12, 2)
            ctx = StageContext(stage_index=stage, traffic=(5.0, 10.0, 50.0)[stage], hold_s=3600.0,
                               elapsed_in_stage_s=300.0 * (t - 12 * stage), interval_s=300.0,
                               next_stage_hold_s=3600.0, next_stage_traffic=(10.0, 50.0, 100.0)[stage])
            started = time.process_time()
            evaluate(history[:t], ctx, guardrails, analysis, state=state)
            spent.append(time.process_time() - started)
    return 1000 * float(np.mean(timings["state"])), 1000 * float(np.mean(timings["stateless"]))


def goals(result: dict[str, Any], plan_min_s: float) -> list[tuple[str, bool, str]]:
    judges = {j["judge"]: j for j in result["judges"]}
    ours = judges["canaria"]
    others = [j["mean_bad_requests"] for name, j in judges.items() if name != "canaria" and j["mean_bad_requests"]]
    best_other = min(others) if others else None
    promote = ours["median_promote_s"]
    return [
        ("false rollback rate <= 1%", ours["false_rollback_rate"] <= 0.01, f"{ours['false_rollback_rate']:.2%}"),
        ("miss rate <= 2%", ours["miss_rate"] <= 0.02, f"{ours['miss_rate']:.2%}"),
        ("mean bad requests <= 0.5 x best other",
         best_other is not None and ours["mean_bad_requests"] <= 0.5 * best_other,
         f"{ours['mean_bad_requests']:.1f} vs best other {best_other:.1f} (ratio {ours['mean_bad_requests'] / best_other:.2f})"
         if best_other else "n/a"),
        ("median promote <= 1.2 x plan minimum", promote is not None and promote <= 1.2 * plan_min_s,
         f"{(promote or 0) / 3600:.2f} h vs minimum {plan_min_s / 3600:.2f} h"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    console = Console(width=150)
    plan_min = plan_minimum_s(PlanConfig(), AnalysisConfig().interval)
    everything: dict[str, Any] = {}
    for title, path in SUITES.items():
        started = time.perf_counter()
        outcome = simulate(path, runs=args.runs, seed=args.seed, workers=args.workers)
        elapsed = time.perf_counter() - started
        result = outcome.to_json()
        everything[title] = result
        scenarios = len(result["judges"][0]["by_scenario"])
        console.print(render_table(result, title=f"{title}: {scenarios} scenarios x {args.runs} runs, 4 judges"))
        console.print(render_scenarios(result, "canaria"))
        console.print(f"suite time: {elapsed:.1f} s with {args.workers} worker(s)")
        for goal, met, figure in goals(result, plan_min):
            console.print(f"  {'✅' if met else '❌'} {goal}: {figure}")
        console.print()
    with_state, stateless = judge_cost_ms(SUITES["high traffic (50 req/s)"])
    console.print(f"judge cost per tick (72-window rollout, 50 req/s): {with_state:.2f} ms with state, "
                  f"{stateless:.2f} ms recomputing from the history ({'✅' if max(with_state, stateless) <= 5 else '❌'} <= 5 ms)")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
