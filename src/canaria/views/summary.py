"""The card a run ends on: outcome, stages with their durations, time to detect and to roll back, failed user
requests, the report's path and what to do next. Built from the store, so `run` and `demo` show the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from canaria.analysis.verdict import Verdict
from canaria.config import CanariaConfig
from canaria.i18n import t
from canaria.i18n.spans import format_span
from canaria.notify.sentence import decision_sentence
from canaria.state.store import Event, Rollout, Store

__all__ = ["SummaryCard", "build_card"]


@dataclass
class SummaryCard:
    title: str
    outcome: str  # promoted | rolled_back | aborted | failed
    lines: list[str] = field(default_factory=list)

    @property
    def style(self) -> str:
        return {"promoted": "green", "rolled_back": "red"}.get(self.outcome, "yellow")


def _outcome(rollout: Rollout) -> str:
    if rollout.phase == "succeeded":
        return "promoted"
    if rollout.phase == "failed":
        return "failed"
    return rollout.outcome or "aborted"


def _judged_sentence(config: CanariaConfig, stages: list[Event], decision: Event, lang: str) -> str | None:
    """The judge's NO-GO in the one plain sentence, at the stage it was made in."""
    try:
        verdict = Verdict.from_dict(decision.data)
    except (KeyError, ValueError, TypeError):
        return None
    before = [e for e in stages if e.at <= decision.at] or stages[:1]
    traffic = float(before[-1].data.get("traffic") or 0.0) if before else 0.0
    started = before[-1].at if before else decision.at
    return decision_sentence(verdict, traffic=traffic, elapsed_s=max(0.0, decision.at - started), lang=lang)


def build_card(config: CanariaConfig, store: Store, rollout: Rollout, *, message: str, lang: str,
               report: Path | None) -> SummaryCard:
    outcome = _outcome(rollout)
    end = rollout.ended_at or rollout.updated_at
    stages = store.events(rollout.id, kinds=("stage_advanced",))
    nogo = [e for e in store.events(rollout.id, kinds=("decision",)) if e.data.get("decision") == "NO-GO"]
    judged = _judged_sentence(config, stages, nogo[-1], lang) if nogo and outcome == "rolled_back" else None
    lines = [judged or message, t("card.duration", lang, duration=format_span(end - rollout.created_at, lang))]
    if stages:
        parts = []
        for i, event in enumerate(stages):
            until = stages[i + 1].at if i + 1 < len(stages) else end
            traffic = event.data.get("traffic")
            parts.append(t("card.stage_line", lang, traffic=f"{float(traffic or 0):g}",
                           duration=format_span(max(0.0, until - event.at), lang)))
        lines.append(f"{t('card.stages', lang)}: " + " → ".join(parts))
    finished = store.events(rollout.id, kinds=("rollback_finished",))
    exposed = stages[0].at if stages else rollout.created_at  # from the first request the canary could get
    if nogo and finished:
        lines.append(t("card.detect", lang, detect=format_span(max(0.0, nogo[0].at - exposed), lang),
                       rollback=format_span(max(0.0, finished[-1].at - nogo[0].at), lang)))
    windows = store.windows(rollout.id)
    lines.append(t("card.failed_requests", lang, canary=sum(w.canary.errors for w in windows),
                   control=sum(w.control.errors for w in windows)))
    if report is not None:
        lines.append(t("card.report", lang, path=report))
    lines.append(t(f"card.next.{outcome}", lang))
    title = t("card.title", lang, service=config.service, outcome=t(f"phase.{rollout.phase}", lang))
    return SummaryCard(title=title, outcome=outcome, lines=lines)
