"""Event → Notification: the facts people need (state, traffic, score, reasons with measured values,
next check), in their language, then through the templates.

Reasons are rebuilt from the judge's structured findings (metric, canary value, control value,
threshold, streak) rather than its English sentence, so a Korean message carries the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from canaria.analysis.verdict import Decision, Verdict
from canaria.analysis.window import Window
from canaria.config import CanariaConfig
from canaria.controller.reporting import status_report_text
from canaria.i18n import t
from canaria.i18n.messages import MESSAGES
from canaria.i18n.spans import format_span
from canaria.notify.base import Contact, Notification, Severity
from canaria.notify.event_text import event_text, reason_in
from canaria.notify.sentence import decision_sentence, display_severity
from canaria.notify.templates import TemplateSet
from canaria.state.store import Event, Rollout, Store

__all__ = ["Renderer", "format_value", "reason_lines", "utc_text"]

_UNITS = {"error_rate_pct": "%", "memory_pct": "%", "cpu_pct": "%", "p50_ms": " ms", "p95_ms": " ms",
          "p99_ms": " ms", "mean_ms": " ms"}
_CHECK_METRIC = {"error_rate": "error_rate_pct", "p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms",
                 "memory": "memory_pct", "cpu": "cpu_pct", "mean": "mean_ms"}
_COLORS = {Severity.INFO: "#2da44e", Severity.WARNING: "#d4a72c", Severity.CRITICAL: "#cf222e"}


def utc_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _metric_of(check: str, params: dict[str, Any]) -> str:
    metric = str(params.get("metric") or check)
    for prefix in ("compare.", "trend.", "guardrail."):
        metric = metric.removeprefix(prefix)
    return _CHECK_METRIC.get(metric, metric)


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    unit = _UNITS.get(metric, "")
    if unit == " ms":
        return f"{value:.0f} ms"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}{unit}"


def reason_lines(verdict: dict[str, Any] | None, lang: str, *, limit: int = 6) -> list[str]:
    """The findings that matter (not OK), worst first, each with the measured values."""
    if not verdict:
        return []
    reasons = [r for r in verdict.get("reasons", []) if r.get("severity") not in ("ok",)]
    order = {"critical": 0, "warning": 1, "info": 2}
    reasons.sort(key=lambda r: order.get(str(r.get("severity")), 3))
    lines: list[str] = []
    for reason in reasons[:limit]:
        params = dict(reason.get("params") or {})
        canary = reason.get("canary_value")
        key = str(reason.get("key") or "")
        if canary is not None:
            metric = _metric_of(str(reason.get("check", "")), params)
            streak = ""
            if params.get("streak") and params.get("consecutive", 1) > 1:
                streak = t("notify.reason.streak", lang, streak=params["streak"], consecutive=params["consecutive"])
            lines.append(t("notify.reason.measured", lang, metric=t(f"metric.{metric}", lang)
                           if f"metric.{metric}" in MESSAGES["en"] else metric,
                           canary=format_value(metric, canary),
                           control=format_value(metric, reason.get("control_value")),
                           threshold=format_value(metric, reason.get("threshold")), streak=streak))
        elif key and key in MESSAGES.get(lang, {}):
            lines.append(t(key, lang, **params))
        else:
            lines.append(str(reason.get("message", "")))
    return [line for line in lines if line]


class Renderer:
    """Builds notifications for one service in one language."""

    def __init__(self, config: CanariaConfig, *, lang: str, templates: TemplateSet, store: Store | None = None
                 ) -> None:
        self.config = config
        self.lang = lang
        self.templates = templates
        self.store = store

    def _t(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def _verdict_for(self, event: Event) -> dict[str, Any] | None:
        data = event.data or {}
        if event.kind == "decision":
            return data
        if isinstance(data.get("verdict"), dict):
            return data["verdict"]
        if event.kind in ("rollback_finished", "status_report") and self.store and event.rollout_id:
            last = self.store.verdicts(event.rollout_id, last=1)
            return last[-1].verdict.to_dict() if last else None
        return None

    def _window(self, event: Event) -> Window | None:
        data = event.data or {}
        if isinstance(data.get("window"), dict):
            return Window.from_dict(data["window"])
        if self.store and event.rollout_id and event.kind in ("decision", "rollback_started", "rollback_finished",
                                                              "paused", "approval_needed"):
            windows = self.store.windows(event.rollout_id, last=1)
            return windows[-1] if windows else None
        return None

    def _figures(self, window: Window | None) -> str:
        if window is None:
            return ""
        summary = window.canary.summary(window.duration_s)
        control = window.control.summary(window.duration_s)
        shown = {key: format_value(f"{key}_ms", summary[f"{key}_ms"]) for key in ("mean", "p50", "p95", "p99")}
        return self._t("report.figures", requests=summary["requests"], control_requests=control["requests"],
                       error=format_value("error_rate_pct", summary["error_rate_pct"]),
                       memory=format_value("memory_pct", summary["memory_pct"]), **shown)

    def _reason(self, event: Event, rollout: Rollout | None) -> str:
        """Why the rollout rolled back or paused, in the reader's language when the event says it as text."""
        nested = reason_in(event, self.lang)
        if nested:
            return nested
        if event.kind in ("paused", "canary_failed", "hold_overdue") and event.text:
            return event_text(event, self.lang)
        return str((event.data or {}).get("reason") or (rollout.reason if rollout else "") or "")

    def _sentence(self, verdict: dict[str, Any], rollout: Rollout | None, event: Event) -> str:
        try:
            parsed = Verdict.from_dict(verdict)
        except (KeyError, ValueError, TypeError):
            return ""
        traffic = rollout.traffic if rollout else float(event.data.get("traffic") or 0.0)
        started = (rollout.stage_started_at or rollout.created_at) if rollout else None
        final = rollout is not None and rollout.stage_index >= len(self.config.plan.stages) - 1
        return decision_sentence(parsed, traffic=traffic, elapsed_s=event.at - started if started else None,
                                 lang=self.lang, final_stage=final)

    def context(self, event: Event, rollout: Rollout | None) -> dict[str, Any]:
        data = event.data or {}
        verdict = self._verdict_for(event)
        window = self._window(event)
        stages = self.config.plan.stages
        traffic = rollout.traffic if rollout else data.get("traffic")
        stage_index = rollout.stage_index if rollout else int(data.get("stage_index") or 0)
        decision = str(verdict.get("decision")) if verdict and verdict.get("decision") else data.get("decision")
        score = verdict.get("score") if verdict else data.get("score")
        reasons = reason_lines(verdict, self.lang)
        reason = self._reason(event, rollout)
        if event.kind == "rollback_started" and reasons:
            reason = reasons[0]
        params = {
            "service": self.config.service, "kind": event.kind, "actor": event.actor,
            "traffic": f"{traffic:g}" if isinstance(traffic, int | float) else "-",
            "stage": min(stage_index, len(stages) - 1) + 1, "stages": len(stages),
            "next_traffic": f"{float(data.get('traffic', 0)):g}", "decision": decision or "-",
            "state": self._t(f"report.state.{decision}") if decision else "-", "score": score if score is not None
            else "-", "reason": reason or event_text(event, self.lang), "level": data.get("level", ""),
            "waited": data.get("waited", ""),
        }
        key = f"notify.title.{event.kind}"
        title = self._t(key if key in MESSAGES["en"] else "notify.title.default", **params)
        fields: list[tuple[str, str]] = []
        if rollout is not None:
            fields.append((self._t("notify.field.phase"), self._t(f"phase.{rollout.phase}")))
        if isinstance(traffic, int | float):
            split = self._t("notify.field.traffic_value", control=f"{100 - traffic:g}", canary=f"{traffic:g}")
            fields.append((self._t("notify.field.traffic"), split))
            fields.append((self._t("notify.field.stage"), f"{params['stage']}/{len(stages)}"))
        if score is not None:
            fields.append((self._t("notify.field.score"), f"{score}/100"))
        if decision:
            fields.append((self._t("notify.field.decision"), f"{decision} · {self._t(f'report.action.{decision}')}"))
        if event.kind in ("rollback_started", "rollback_finished", "paused", "canary_failed", "hold_overdue") and reason:
            fields.append((self._t("notify.field.reason"), reason))
        if event.kind == "controller_error":
            fields.append((self._t("notify.field.error"), event_text(event, self.lang)))
        if event.actor and event.actor != "canaria":
            fields.append((self._t("notify.field.actor"), event.actor))
        if rollout is not None and rollout.active and event.kind in ("decision", "status_report", "stage_advanced"):
            fields.append((self._t("notify.field.next_check"),
                           utc_text(event.at + self.config.analysis.interval)))
        body = ""
        if event.kind == "status_report" and window is not None and decision:
            body = status_report_text(window, Verdict(Decision(decision), int(score or 0)),
                                      next_check_at=event.at + self.config.analysis.interval, lang=self.lang)
        if event.kind in ("decision", "rollback_started") and verdict and verdict.get("decision") and not body:
            body = self._sentence(verdict, rollout, event)  # the same one sentence as the terminal and report
        severity = Severity.of(display_severity(event.kind, event.severity, data))
        escalates = severity is Severity.CRITICAL and bool(self.config.notify.escalation.levels)
        hint = self._t("notify.ack_hint") if escalates else ""
        return {
            "event": event.to_dict(), "kind": event.kind, "severity": severity.value, "lang": self.lang,
            "service": self.config.service, "rollout_id": event.rollout_id, "at": event.at,
            "at_text": utc_text(event.at), "title": title, "body": body, "fields": fields, "reasons": reasons,
            "figures": self._figures(window), "traffic": traffic if isinstance(traffic, int | float) else None,
            "score": score, "decision": decision, "phase": rollout.phase if rollout else None,
            "emoji": severity.emoji, "color": _COLORS[severity], "hint": hint,
        }

    def build(self, event: Event, rollout: Rollout | None, *, contacts: list[Contact] | None = None,
              level: int = 0, body: str | None = None) -> Notification:
        ctx = self.context(event, rollout)
        if body is not None:
            ctx["body"] = body
        return self.from_context(event, ctx, contacts=contacts, level=level)

    def from_context(self, event: Event, ctx: dict[str, Any], *, contacts: list[Contact] | None = None,
                     level: int = 0) -> Notification:
        def render(part: str) -> str:
            return self.templates.render(part, kind=event.kind, lang=self.lang, context=ctx, translate=self._t)

        facts = {"decision": ctx["decision"], "score": ctx["score"], "traffic": ctx["traffic"],
                 "phase": ctx["phase"], "actor": event.actor, "message": event.message}
        return Notification(
            event_id=event.id, kind=event.kind, severity=Severity.of(str(ctx["severity"])),
            service=self.config.service,
            rollout_id=event.rollout_id, at=event.at, lang=self.lang, title=ctx["title"], text=render("text"),
            html=render("html"), short=" ".join(render("sms").split()), body=ctx["body"], figures=ctx["figures"],
            fields=list(ctx["fields"]), reasons=list(ctx["reasons"]), data=facts, contacts=list(contacts or []), level=level,
        )


def waited_text(seconds: float, lang: str = "en") -> str:
    return format_span(seconds, lang)
