"""The record as rows of localized text: shared by the HTML and Markdown writers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from canaria.i18n import t
from canaria.i18n.check_names import check_name
from canaria.i18n.messages import MESSAGES
from canaria.i18n.spans import format_span
from canaria.notify.event_text import event_text, finding_in, rollout_reason
from canaria.report.data import RecordData
from canaria.report.svg import elapsed_label
from canaria.state.status import iso

__all__ = ["RecordView", "build_view"]


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M:%S")


def _kind(kind: str, lang: str) -> str:
    """An event's kind as the dashboard names it ("rollback started", "롤백 시작"); unknown kinds as recorded."""
    key = f"web.event.{kind}"
    return t(key, lang) if key in MESSAGES["en"] else kind


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:g}%"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


@dataclass
class RecordView:
    lang: str
    title: str
    outcome: str
    outcome_class: str
    facts: list[tuple[str, str]]
    preflight: list[tuple[str, bool, str]] | None
    preflight_at: str | None
    stage_header: list[str]
    stages: list[list[str]]
    decisions: list[list[str]]
    events_header: list[str]
    events: list[list[str]]
    notes: list[tuple[str, str, str]]
    signoff: list[tuple[str, bool, str]]
    failures: list[list[str]]
    generated: str

    def label(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)


def _outcome(data: RecordData, lang: str) -> tuple[str, str]:
    rollout = data.rollout
    reason = rollout_reason(data.events, rollout.reason, lang)
    if rollout.phase == "succeeded":
        return t("outcome.promoted", lang), "good"
    if rollout.outcome == "rolled_back":
        return t("outcome.rolled_back", lang, reason=reason), "bad"
    if rollout.outcome == "aborted":
        return t("outcome.aborted", lang, reason=reason), "warn"
    return t("outcome.waiting", lang, reason=t(f"phase.{rollout.phase}", lang)), "warn"


def build_view(data: RecordData, lang: str) -> RecordView:
    rollout, summary = data.rollout, data.summary
    outcome, outcome_class = _outcome(data, lang)
    facts = [
        (t("record.outcome", lang), outcome),
        (t("record.reason", lang), rollout_reason(data.events, rollout.reason, lang) or "–"),
        (t("record.started", lang), iso(rollout.created_at) or "–"),
        (t("record.ended", lang), iso(rollout.ended_at) or "–"),
        (t("record.duration", lang), format_span(data.end - data.start, lang)),
        (t("record.final_traffic", lang), f"{summary.get('final_traffic', rollout.traffic):g}%"),
        (t("record.requests", lang), f"{summary['requests']['control']} / {summary['requests']['canary']}"),
        (t("record.errors", lang), f"{summary['errors']['control']} / {summary['errors']['canary']}"),
    ]
    preflight = None
    if data.preflight is not None:
        preflight = [(check_name(str(c.get("name", "")), lang), bool(c.get("ok")), str(c.get("detail", "")))
                     for c in data.preflight]
    stage_header = [t(k, lang) for k in ("record.col.stage", "record.col.traffic", "record.col.end",
                                         "record.col.requests", "record.col.error_rate")] + \
        ["P50", "P95", "P99", t("record.col.memory", lang), t("record.col.cpu", lang),
         t("record.col.score", lang), t("record.col.decision", lang)]
    stages = []
    for s in data.stages:
        c = s["canary"]
        k = s["control"]
        stages.append([str(s["stage"]), f"{s['traffic']:g}%", s["ended_at"] or "–",
                       f"{c['requests']} ({k['requests']})", f"{_pct(c['error_rate_pct'])} ({_pct(k['error_rate_pct'])})",
                       _ms(c["p50_ms"]), _ms(c["p95_ms"]), _ms(c["p99_ms"]), _pct(c["memory_pct"]), _pct(c["cpu_pct"]),
                       "–" if s["score"] is None else str(s["score"]), s["decision"] or "–"])
    decisions = [[_clock(e.at), elapsed_label(data.elapsed(e.at)), str(e.data.get("decision")),
                  str(e.data.get("score")), "; ".join(finding_in(r, lang) for r in e.data.get("reasons", [])
                                                      if r.get("severity") != "ok")]
                 for e in data.events if e.kind == "decision"]
    events_header = [t(k, lang) for k in ("record.col.at", "record.col.kind", "record.col.severity",
                                          "record.col.actor", "record.col.message")]
    events = [[f"{_clock(e.at)} ({elapsed_label(data.elapsed(e.at))})", _kind(e.kind, lang), e.severity, e.actor,
               event_text(e, lang).replace("\n", " ")] for e in data.events]  # whole: the cell wraps, nothing is cut
    notes = [(iso(e.at) or "", e.actor, e.message) for e in data.notes]
    signoff = []
    for item in data.signoff:
        label = item["text"] or t(f"signoff.item.{item['key']}", lang)
        who = f"{item['actor']} · {item['at']}" if item["signed"] else t("record.signoff.open", lang)
        signoff.append((label, bool(item["signed"]), who))
    failures = [[iso(e.at) or "", str(e.data.get("channel")), str(e.data.get("event_kind")),
                 str(e.data.get("error"))] for e in data.notify_failures]
    return RecordView(
        lang=lang, title=t("record.title", lang, service=data.config.service, rollout=rollout.id), outcome=outcome,
        outcome_class=outcome_class, facts=facts, preflight=preflight, preflight_at=iso(data.preflight_at),
        stage_header=stage_header, stages=stages, decisions=decisions, events_header=events_header,
        events=events, notes=notes, signoff=signoff, failures=failures,
        generated=t("record.generated", lang, at=iso(data.generated_at)),
    )
