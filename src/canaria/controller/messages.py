"""The words of every event the controller records, as translatable texts (`canaria.i18n.text`).

An event is recorded once and read in several languages, so the controller writes a catalogue key and its
parameters; the English `message` is that text rendered in English (the exact words canaria always wrote). Nested
parts keep their own form: a judge finding stays a finding (each language says it its own way), an operator's
reason stays their words, an error with a key stays translatable.
"""

from __future__ import annotations

from typing import Any

from canaria.analysis.verdict import Reason, Severity, Verdict
from canaria.controller.routing import RouteTarget
from canaria.errors import CanariaError
from canaria.i18n import LANGS
from canaria.i18n.text import by_lang, join, literal, msg, reason, render
from canaria.platforms.base import DataPlaneHealth, RouteStatus
from canaria.state.store import Event

__all__ = ["Text", "driving_reason", "english", "error_text", "health_summary", "in_every_language",
           "operator_text", "rollback_reason_of", "route_note", "stage_text", "verdict_headline"]

Text = dict[str, Any]


def english(text: Text) -> str:
    """The event's `message`: the text in English, as `--json` consumers and older tools read it."""
    return render(text, "en")


def in_every_language(write: Any) -> Text:
    """Text already written per language by `write(lang)` (the status report builds its own sentences)."""
    return by_lang({lang: write(lang) for lang in LANGS})


def route_note(status: RouteStatus) -> Text | str:
    if status.state == "unsupported":
        return msg("route.note.unsupported")
    if status.approximate:  # Kubernetes `replicas`: the weight is a share of pods, not of requests
        if status.detail:
            return msg("route.note.approximate_detail", detail=literal(status.detail))
        return msg("route.note.approximate")
    return ""


def stage_text(target: RouteTarget, *, index: int, total: int, status: RouteStatus) -> Text:
    return msg("event.stage_advanced", target=target.text(), n=index + 1, total=total,
               note=route_note(status))


def driving_reason(verdict: Verdict) -> Reason | None:
    """The finding `Verdict.headline` names (the same choice, so the English words are the headline)."""
    driving = [r for r in verdict.reasons if r.decision == verdict.decision]
    ranked = sorted(driving or verdict.reasons, key=lambda r: list(Severity).index(r.severity), reverse=True)
    return ranked[0] if ranked else None


def verdict_headline(verdict: Verdict) -> Text:
    found = driving_reason(verdict)
    return reason(found.to_dict()) if found is not None else literal("")


def error_text(exc: BaseException) -> Text:
    """An error as text: its catalogue key when it has one, else its English words as they are."""
    if isinstance(exc, CanariaError):
        return exc.text
    return literal(str(exc))


def operator_text(words: str, default_key: str) -> Text:
    """What an operator typed (their words, untranslated), or the default sentence of the action."""
    return literal(words) if words else msg(default_key)


def health_summary(health: DataPlaneHealth) -> Text:
    """DataPlaneHealth.summary(), translatable: "gateway up; stable up; canary down (exit 1)"."""
    parts: list[Text] = []
    for component in health.components:
        known = component.name in ("gateway", "router", "stable", "canary")
        name = msg(f"health.name.{component.name}") if known else literal(component.name)
        state = msg(f"health.state.{component.state}")
        if component.detail:
            parts.append(msg("health.component_detail", name=name, state=state, detail=literal(component.detail)))
        else:
            parts.append(msg("health.component", name=name, state=state))
    return join(parts)


def rollback_reason_of(events: list[Event], fallback: str) -> Text | str:
    """The reason the last rollback_started gave (as text), for the events that finish that rollback."""
    for event in reversed(events):
        if event.text and isinstance(event.text.get("params"), dict) and "reason" in event.text["params"]:
            return event.text["params"]["reason"]  # type: ignore[no-any-return]
    return literal(fallback)
