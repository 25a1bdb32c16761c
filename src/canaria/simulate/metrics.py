"""From runs to the figures `simulate --json` prints (DESIGN.md section 3), per judge and per scenario.

Definitions. false_rollback_rate: share of good-scenario runs rolled back. miss_rate: share of
bad-scenario runs not rolled back by the horizon (promoted, paused or still holding). median/p90_detect_s:
over bad runs that were rolled back, seconds from the fault's onset. mean_bad_requests: mean over
bad-scenario runs (per scenario: over its runs). median_promote_s: over good runs that were promoted,
seconds from the start. A figure with nothing to measure is null. Rates are fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from canaria.simulate.runner import RunResult
from canaria.simulate.scenario import ResolvedScenario

__all__ = ["judge_summary"]


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.quantile(np.asarray(values), q)), 1) if values else None


def _figures(good: Sequence[RunResult], bad: Sequence[RunResult]) -> dict[str, Any]:
    detect = [r.detect_s for r in bad if r.detect_s is not None]
    promote = [r.end_s for r in good if r.outcome == "promoted"]
    return {
        "false_rollback_rate": _rate(sum(r.outcome == "rolled_back" for r in good), len(good)),
        "miss_rate": _rate(sum(r.outcome != "rolled_back" for r in bad), len(bad)),
        "median_detect_s": _quantile(detect, 0.5),
        "p90_detect_s": _quantile(detect, 0.9),
        "mean_bad_requests": round(float(np.mean([r.bad_requests for r in bad])), 2) if bad else None,
        "median_promote_s": _quantile(promote, 0.5),
    }


def judge_summary(
    name: str, scenarios: Sequence[ResolvedScenario], runs: Sequence[Sequence[RunResult]]
) -> dict[str, Any]:
    """One judge's object: overall figures and `by_scenario`."""
    good = [r for s, rs in zip(scenarios, runs) if not s.bad for r in rs]
    bad = [r for s, rs in zip(scenarios, runs) if s.bad for r in rs]
    by_scenario = []
    for scenario, results in zip(scenarios, runs):
        figures = _figures([] if scenario.bad else results, results if scenario.bad else [])
        if not scenario.bad:
            figures["mean_bad_requests"] = round(float(np.mean([r.bad_requests for r in results])), 2)
        outcomes = {key: sum(r.outcome == key for r in results) for key in ("promoted", "rolled_back", "paused", "held")}
        by_scenario.append({"name": scenario.name, "bad": scenario.bad, "runs": len(results), **figures, "outcomes": outcomes})
    return {
        "judge": name,
        "scenarios": len(scenarios),
        "runs": sum(len(rs) for rs in runs),
        **_figures(good, bad),
        "by_scenario": by_scenario,
    }
