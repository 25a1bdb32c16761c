"""The baselines reproduce their published rules."""

from __future__ import annotations

import numpy as np

from canaria.analysis.context import StageContext
from canaria.analysis.verdict import Decision
from canaria.simulate.baselines.flagger import FlaggerJudge
from canaria.simulate.baselines.kayenta import KayentaJudge
from canaria.simulate.baselines.runbook import RunbookJudge
from canaria.simulate.generator import MinuteSeries
from canaria.simulate.judge_api import Tick
from tests.analysis.builders import variant, window


def _tick(history: list, elapsed_s: float, minutes: dict[int, MinuteSeries] | None = None) -> Tick:
    ctx = StageContext(stage_index=history[-1].stage_index, traffic=5.0, hold_s=3600.0, elapsed_in_stage_s=elapsed_s,
                       interval_s=300.0)
    return Tick(history=history, ctx=ctx, minutes=lambda i: (minutes or {})[i])


def _run(judge: object, windows: list, minutes: dict[int, MinuteSeries] | None = None) -> list[Decision]:
    decisions = []
    for k in range(len(windows)):
        decisions.append(judge.decide(_tick(windows[: k + 1], 300.0 * (k + 1), minutes)).decision)  # type: ignore[attr-defined]
        if decisions[-1] is not Decision.OBSERVE:
            break
    return decisions


GOOD, FAST_ERRORS = variant(100, latency_ms=100.0), variant(100, errors=2, latency_ms=100.0)
SLOW, EMPTY = variant(100, latency_ms=600.0), variant(0)


def test_flagger_counts_failed_checks_cumulatively_and_never_resets() -> None:
    pattern = [FAST_ERRORS, GOOD, SLOW, GOOD, GOOD, EMPTY, GOOD, FAST_ERRORS, GOOD, SLOW, GOOD]
    windows = [window(k, c, variant(1900)) for k, c in enumerate(pattern)]
    judge = FlaggerJudge()
    decisions = _run(judge, windows)
    # failures at windows 0, 2, 5 (no values), 7, 9: the fifth failure rolls back despite the passes between
    assert decisions[-1] is Decision.NO_GO and len(decisions) == 10 and judge.failed_checks == 5


def test_flagger_promotes_after_the_hold_with_fewer_failures() -> None:
    windows = [window(k, FAST_ERRORS if k < 4 else GOOD, variant(1900)) for k in range(12)]
    decisions = _run(FlaggerJudge(), windows)
    assert decisions[-1] is Decision.GO and len(decisions) == 12


def test_runbook_needs_consecutive_breaches() -> None:
    alternating = [window(k, variant(100, errors=2 if k % 2 == 0 else 0), variant(1900)) for k in range(12)]
    assert _run(RunbookJudge(), alternating)[-1] is Decision.GO
    three = [window(k, variant(100, errors=2 if k >= 3 else 0), variant(1900)) for k in range(12)]
    decisions = _run(RunbookJudge(), three)
    assert decisions[-1] is Decision.NO_GO and len(decisions) == 6
    memory = [window(k, variant(100, memory=90.0 if k >= 2 else 50.0), variant(1900)) for k in range(12)]
    assert len(_run(RunbookJudge(), memory)) == 4


def _minutes(rng: np.random.Generator, canary_ms: float, canary_error: float = 0.0) -> MinuteSeries:
    return MinuteSeries(
        canary_error_rate=np.full(5, canary_error), control_error_rate=np.zeros(5),
        canary_mean_ms=rng.normal(canary_ms, 5, 5), control_mean_ms=rng.normal(100, 5, 5),
    )


def test_kayenta_fails_a_slower_canary_and_passes_a_like_one() -> None:
    rng = np.random.default_rng(1)
    windows = [window(k, GOOD, variant(1900)) for k in range(12)]
    slow = {k: _minutes(rng, 200.0) for k in range(12)}
    judge = KayentaJudge()
    decisions = _run(judge, windows, slow)
    assert decisions[-1] is Decision.NO_GO and judge.last_score == 50.0
    same = {k: _minutes(rng, 100.0) for k in range(12)}
    judge = KayentaJudge()
    assert _run(judge, windows, same)[-1] is Decision.GO and judge.last_score == 100.0


def test_kayenta_scores_zero_without_data() -> None:
    windows = [window(0, EMPTY, variant(1900))]
    nothing = {0: MinuteSeries(*(np.full(5, np.nan) for _ in range(4)))}
    judge = KayentaJudge()
    assert _run(judge, windows, nothing) == [Decision.NO_GO] and judge.last_score == 0.0
