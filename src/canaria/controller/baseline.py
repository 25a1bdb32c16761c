"""The judge's pre-canary baseline: the stable version's own windows from before the rollout, read once.

`analysis.compare.baseline` says how much of that history to read (0: none). The span ends at the rollout's
recorded start, not at "now", so a controller restarted mid-rollout reads the same windows again and the judge
reaches the same verdicts. The baseline only sharpens the judge: a read that fails or hangs is recorded and the
rollout goes on comparing the canary with its own control, as it would with a provider that keeps no history.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from canaria.analysis.judge import JudgeState
from canaria.analysis.window import VariantWindow
from canaria.controller.events import Recorder
from canaria.controller.messages import error_text
from canaria.errors import CanariaError
from canaria.i18n.text import msg, span
from canaria.metrics.base import MetricsProvider
from canaria.state.store import Rollout

__all__ = ["BASELINE_TIMEOUT_S", "JudgeStates", "pre_canary_state"]

#: how long the first tick waits for the history before it judges without it (the provider's own retries
#: run inside this)
BASELINE_TIMEOUT_S = 60.0


class _Controller(Recorder, Protocol):
    metrics: MetricsProvider


class JudgeStates:
    """The judge's evidence per rollout, kept between ticks; the first tick of a rollout (in this process)
    starts it with the pre-canary baseline."""

    def __init__(self, ctrl: _Controller) -> None:
        self.ctrl = ctrl
        self.states: dict[str, JudgeState] = {}

    async def of(self, rollout: Rollout) -> JudgeState:
        state = self.states.get(rollout.id)
        if state is None:
            state = self.states[rollout.id] = await pre_canary_state(self.ctrl, rollout)
        return state


async def pre_canary_state(ctrl: _Controller, rollout: Rollout) -> JudgeState:
    """A JudgeState holding the stable version's windows of the `baseline` span before the rollout started."""
    compare = ctrl.config.analysis.compare
    if not compare.enabled or compare.baseline <= 0:
        return JudgeState()
    end = rollout.created_at
    start = end - compare.baseline
    data = {"start": start, "end": end, "interval": ctrl.config.analysis.interval}
    try:
        windows = await asyncio.wait_for(
            ctrl.metrics.read_baseline(start=start, end=end, interval=ctrl.config.analysis.interval),
            timeout=BASELINE_TIMEOUT_S)
    except (CanariaError, TimeoutError) as exc:
        why = error_text(exc) if isinstance(exc, CanariaError) else msg("baseline.no_answer",
                                                                         span=span(BASELINE_TIMEOUT_S))
        await ctrl.record("baseline_unavailable", rollout, severity="warning", data=data,
                          text=msg("event.baseline_unavailable", span=span(compare.baseline), error=why))
        return JudgeState()
    await _record_read(ctrl, rollout, windows, compare.baseline, data)
    return JudgeState(baseline=windows)


async def _record_read(ctrl: _Controller, rollout: Rollout, windows: list[VariantWindow], seconds: float,
                       data: dict[str, float]) -> None:
    requests = sum(w.requests for w in windows)
    errors = sum(w.errors for w in windows)
    facts = {**data, "windows": len(windows), "requests": requests, "errors": errors}
    if not requests:
        await ctrl.record("baseline_read", rollout, data=facts,
                          text=msg("event.baseline_empty", span=span(seconds)))
        return
    await ctrl.record("baseline_read", rollout, data=facts,
                      text=msg("event.baseline_read", windows=len(windows), span=span(seconds),
                               requests=f"{requests:,}", error_pct=f"{100.0 * errors / requests:.2f}"))
