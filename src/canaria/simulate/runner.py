"""Simulated time: walk the plan window by window, ask each judge at every checkpoint, tally what happened.

Rules every judge is held to: a window is one analysis interval; after each window the judge is asked;
NO-GO rolls back at once; GO moves to the next stage (approval gates are granted at once); entering a stage
at 100 % traffic with no hold, or passing the last stage, is promotion; an OBSERVE that needs a person
pauses the rollout where it is. Whatever is left of the horizon after promotion or a pause still counts
towards the canary's bad requests, at the traffic it then has.

Bad requests are the canary's expected failed or slower-than-objective requests beyond what control's
rates would give for the same requests (expected rather than drawn, so the figure measures the judge and
not the dice). Detection time runs from the fault's onset to the rollback (0 if the rollback came first).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from canaria.analysis.context import StageContext
from canaria.analysis.verdict import Decision
from canaria.analysis.window import Window
from canaria.config import AnalysisConfig, GuardrailConfig, PlanConfig
from canaria.foundation.histogram import BUCKET_BOUNDS_MS
from canaria.simulate.generator import MinuteSeries, RunSource, WindowTruth
from canaria.simulate.judge_api import Tick
from canaria.simulate.judges import make_judge
from canaria.simulate.scenario import ResolvedScenario

__all__ = ["RunResult", "SimulationSetup", "plan_minimum_s", "run_chunk", "simulate_run"]


@dataclass(frozen=True)
class RunResult:
    outcome: str  # "rolled_back" | "promoted" | "paused" | "held" (still observing at the horizon)
    end_s: float  # when the outcome happened (horizon for "held")
    bad_requests: float
    detect_s: float | None  # rollback time after the fault's onset (bad scenarios only)
    ticks: int
    judge_s: float  # wall time spent inside the judge


@dataclass(frozen=True)
class SimulationSetup:
    plan: PlanConfig
    analysis: AnalysisConfig
    guardrails: Sequence[GuardrailConfig]
    judges: Sequence[str]
    seed: int


def plan_minimum_s(plan: PlanConfig, interval_s: float) -> float:
    """Fastest possible promotion: every hold, each rounded up to whole checks (and at least one check)."""
    total = 0.0
    for i, stage in enumerate(plan.stages):
        if stage.traffic >= 100 and stage.hold == 0 and i > 0:
            break
        checks = max(1, -(-stage.hold // interval_s))
        total += checks * interval_s
    return total


def _promoted_on_entry(plan: PlanConfig, index: int) -> bool:
    return index >= len(plan.stages) or (plan.stages[index].traffic >= 100 and plan.stages[index].hold == 0)


def _exposure_after(source: RunSource, first: int, windows: int, share_pct: float, slow_ms: float) -> float:
    """Bad requests from window `first` to the horizon at a fixed canary share (promoted or paused)."""
    return sum(
        source.expected_excess_bad(k, source.expected_requests(k) * share_pct / 100.0, slow_ms)
        for k in range(first, windows)
    )


def _context(plan: PlanConfig, stage_index: int, elapsed_s: float, interval_s: float) -> StageContext:
    stage = plan.stages[stage_index]
    last = stage_index == len(plan.stages) - 1
    following = None if last else plan.stages[stage_index + 1]
    return StageContext(
        stage_index=stage_index,
        traffic=stage.traffic,
        hold_s=stage.hold,
        elapsed_in_stage_s=elapsed_s,
        interval_s=interval_s,
        next_stage_hold_s=following.hold if following else 0.0,
        is_last_stage=last,
        next_stage_traffic=following.traffic if following else None,
    )


def simulate_run(source: RunSource, judge_name: str, setup: SimulationSetup) -> RunResult:
    """One rollout of one scenario under one judge."""
    plan, interval, slow_ms = setup.plan, setup.analysis.interval, setup.analysis.compare.slow_ms
    scenario = source.scenario
    windows = int(scenario.horizon_s // interval)
    if _promoted_on_entry(plan, 0):  # a plan that starts at 100 %: nothing to judge
        return RunResult("promoted", 0.0, _exposure_after(source, 0, windows, 100.0, slow_ms), None, 0, 0.0)
    judge = make_judge(judge_name, guardrails=setup.guardrails, analysis=setup.analysis)
    history: list[Window] = []

    def minutes(i: int) -> MinuteSeries:
        return source.minutes(i, history[i].stage_index)

    slow_bucket = bisect_left(BUCKET_BOUNDS_MS, slow_ms)  # the buckets every judge counts as slow

    def truth(i: int) -> WindowTruth:
        return source.truth(i, slow_bucket)

    baseline = source.baseline(int(setup.analysis.compare.baseline // interval))
    stage_index, stage_start, bad, judge_s = 0, 0.0, 0.0, 0.0
    outcome, end_s, share_after = "held", scenario.horizon_s, None
    for k in range(windows):
        window = source.window(k, stage_index, plan.stages[stage_index].traffic)
        history.append(window)
        bad += source.expected_excess_bad(k, window.canary.requests, slow_ms)
        now = (k + 1) * interval
        started = time.perf_counter()
        step = judge.decide(
            Tick(history, _context(plan, stage_index, now - stage_start, interval), minutes, truth, baseline)
        )
        judge_s += time.perf_counter() - started
        if step.decision is Decision.NO_GO:
            outcome, end_s = "rolled_back", now
        elif step.decision is Decision.GO:
            stage_index, stage_start = stage_index + 1, now
            if _promoted_on_entry(plan, stage_index):
                outcome, end_s, share_after = "promoted", now, 100.0
        elif step.needs_human:
            outcome, end_s, share_after = "paused", now, plan.stages[stage_index].traffic
        if outcome != "held":
            if share_after is not None:
                bad += _exposure_after(source, k + 1, windows, share_after, slow_ms)
            break
    detect = max(0.0, end_s - scenario.onset_s) if scenario.bad and outcome == "rolled_back" else None
    return RunResult(outcome, end_s, bad, detect, len(history), judge_s)


@dataclass
class ChunkResult:
    scenario_index: int
    first_run: int
    results: dict[str, list[RunResult]] = field(default_factory=dict)


def run_chunk(
    scenario_index: int, scenario: ResolvedScenario, runs: range, setup: SimulationSetup
) -> ChunkResult:
    """Runs `runs` of one scenario under every judge, sharing each run's drawn windows between judges."""
    chunk = ChunkResult(scenario_index, runs.start, {name: [] for name in setup.judges})
    for run in runs:
        source = RunSource(scenario, run=run, seed=setup.seed, interval_s=setup.analysis.interval)
        for name in setup.judges:
            chunk.results[name].append(simulate_run(source, name, setup))
    return chunk


def _run_chunk_args(args: tuple[int, ResolvedScenario, range, SimulationSetup]) -> ChunkResult:
    return run_chunk(*args)


def execute(
    scenarios: Sequence[ResolvedScenario], runs: int | None, setup: SimulationSetup, workers: int | None
) -> dict[str, list[list[RunResult]]]:
    """Every run of every scenario for every judge: results[judge][scenario] = [RunResult per run]."""
    tasks: list[tuple[int, ResolvedScenario, range, SimulationSetup]] = []
    for index, scenario in enumerate(scenarios):
        count = runs if runs is not None else scenario.runs
        step = max(1, min(50, count))
        for start in range(0, count, step):
            tasks.append((index, scenario, range(start, min(count, start + step)), setup))
    total_runs = sum(len(t[2]) for t in tasks) * len(setup.judges)
    if workers is None:
        workers = 1 if total_runs < 2000 else min(os.cpu_count() or 1, 8)
    if workers > 1 and len(tasks) > 1:
        # fork is quick and needs no `if __name__ == "__main__"` in the caller's script, but is unsafe once
        # threads run; then spawn
        method = "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method)) as pool:
            chunks = list(pool.map(_run_chunk_args, tasks))
    else:
        chunks = [_run_chunk_args(task) for task in tasks]
    results: dict[str, list[list[RunResult]]] = {name: [[] for _ in scenarios] for name in setup.judges}
    for chunk in sorted(chunks, key=lambda c: (c.scenario_index, c.first_run)):
        for name, items in chunk.results.items():
            results[name][chunk.scenario_index].extend(items)
    return results
