"""`canaria run`: drive the active rollout (or start one) to its end, with the live view.

Exit codes (DESIGN.md §3): 0 promoted · 1 infrastructure error · 3 rolled back by the judge ·
4 stopped by an operator (rollback by hand, Ctrl-C) or an approval that timed out.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canaria.controller.machine import TickResult
from canaria.i18n import t
from canaria.runtime.app import App
from canaria.state.status import run_summary
from canaria.state.store import Rollout
from canaria.views.live import RolloutView
from canaria.views.summary import SummaryCard, build_card

__all__ = ["RunOutcome", "drive", "exit_code_for"]


@dataclass
class RunOutcome:
    rollout: Rollout | None
    exit_code: int
    summary: dict[str, Any]
    message: str
    reports: list[Path] = field(default_factory=list)
    card: SummaryCard | None = None  # the summary card, built while the store is still open


def exit_code_for(rollout: Rollout | None, *, interrupted: bool = False) -> int:
    if rollout is None:
        return 1
    if rollout.phase == "succeeded":
        return 0
    if rollout.phase == "rolled_back":
        return 3 if rollout.outcome == "rolled_back" else 4
    if rollout.phase == "failed":
        return 1
    return 4 if interrupted else 1


def outcome_message(rollout: Rollout | None, lang: str) -> str:
    if rollout is None:
        return t("outcome.failed", lang, reason="no rollout")
    if rollout.phase == "succeeded":
        return t("outcome.promoted", lang)
    key = {"rolled_back": "outcome.rolled_back", "aborted": "outcome.aborted"}.get(rollout.outcome or "",
                                                                                  "outcome.waiting")
    if rollout.phase == "failed":
        key = "outcome.failed"
    return t(key, lang, reason=rollout.reason or rollout.phase)


async def drive(
    app: App,
    *,
    lang: str,
    view: RolloutView | None = None,
    on_tick: Callable[[TickResult], Awaitable[None] | None] | None = None,
    max_ticks: int | None = None,
) -> RunOutcome:
    """Take the controller lock and tick the rollout to its end. Ctrl-C stops the controller only:
    the gateway keeps serving at the current weight and a later `run` continues."""
    app.lock.acquire(app.config.service)
    interrupted = False

    async def hook(result: TickResult) -> None:
        if view is not None:
            view.on_tick(result)
        if on_tick is not None:
            maybe = on_tick(result)
            if maybe is not None:
                await maybe

    rollout: Rollout | None = None
    try:
        rollout = await app.controller.run(on_tick=hook, max_ticks=max_ticks)
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
        rollout = app.controller.active()
        if rollout is not None:
            app.store.add_event("controller_stopped", at=app.controller.clock.now(), rollout_id=rollout.id,
                                severity="warning", message="controller stopped by Ctrl-C; traffic stays as it is",
                                text={"key": "event.controller_stopped", "params": {}})
    finally:
        app.lock.release()
    rollout = app.store.get_rollout(rollout.id) if rollout else app.store.latest_rollout(app.config.service)
    summary = run_summary(app.store, rollout, app.config) if rollout else {}
    reports: list[Path] = []
    if rollout is not None and not rollout.active:
        reports = write_report_safely(app, rollout.id, lang)
        if reports:
            summary["report"] = str(reports[0])
    message = outcome_message(rollout, lang)
    if rollout is not None and lang != "en" and rollout.outcome in ("rolled_back", "aborted"):
        message = outcome_message(_localized_reason(app, rollout, lang), lang)
    card = build_card(app.config, app.store, rollout, message=message, lang=lang,
                      report=reports[0] if reports else None) if rollout is not None else None
    return RunOutcome(rollout, exit_code_for(rollout, interrupted=interrupted), summary, message, reports, card)


def _localized_reason(app: App, rollout: Rollout, lang: str) -> Rollout:
    """The same rollout with its reason rebuilt from the judge's findings in `lang` (numbers unchanged)."""
    from dataclasses import replace

    from canaria.notify.event_text import rollout_reason
    from canaria.notify.render import reason_lines

    verdicts = app.store.verdicts(rollout.id, last=1)
    if not verdicts or verdicts[-1].verdict.decision.value != "NO-GO":  # not the judge's: the reason it gave
        events = app.store.events(rollout.id, kinds=("rollback_started",))
        return replace(rollout, reason=rollout_reason(events, rollout.reason, lang))
    lines = reason_lines(verdicts[-1].verdict.to_dict(), lang, limit=1)
    return replace(rollout, reason=lines[0]) if lines else rollout


def write_report_safely(app: App, rollout_id: str, lang: str) -> list[Path]:
    """The deployment record when a rollout ends; a failure to write it never changes the outcome."""
    from canaria.report import write_report

    try:
        return write_report(app.config, app.store, rollout_id, lang=lang)
    except Exception as exc:  # noqa: BLE001
        print(f"warning: could not write the deployment report: {exc}", file=sys.stderr)
        return []


def print_final(outcome: RunOutcome, *, as_json: bool) -> None:
    """The summary card (or the outcome line) for people — on stderr under --json — then the JSON object
    as stdout's last line."""
    human = sys.stderr if as_json else sys.stdout
    if outcome.card is not None:
        RolloutView.print_card(outcome.card, stream=human)
    else:
        print(outcome.message, file=human, flush=True)
        for path in outcome.reports[:1]:
            print(f"report: {path}", file=human, flush=True)
    if as_json:
        print(json.dumps(outcome.summary, ensure_ascii=False), flush=True)
