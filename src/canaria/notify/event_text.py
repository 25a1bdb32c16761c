"""An event's words in the reader's language: the one function every view of an event uses.

The controller records a catalogue key and its parameters beside the English message (`canaria.i18n.text`);
this renders that text in `lang`, a judge finding nested in it (a rollback's reason) as the plain finding sentence
of `canaria.notify.sentence`. English readers get the recorded message itself, and so do records written before
events carried a text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from canaria.analysis.verdict import Reason
from canaria.i18n import LANGS
from canaria.i18n.text import render
from canaria.notify.sentence import finding_text, why_text
from canaria.state.store import Event

__all__ = ["event_text", "event_texts", "finding_in", "reason_in", "rollout_reason", "text_in"]


def finding_in(found: Mapping[str, Any], lang: str) -> str:
    """One judge finding (a Reason as a dict) at the "why" level in `lang` (see sentence.why_text)."""
    if lang == "en":
        return str(found.get("message", ""))
    try:
        return why_text(Reason.from_dict(dict(found)), lang)
    except (KeyError, ValueError, TypeError):
        return str(found.get("message", ""))


def _finding(found: Mapping[str, Any], lang: str) -> str:
    try:
        return finding_text(Reason.from_dict(dict(found)), lang)
    except (KeyError, ValueError, TypeError):
        return str(found.get("message", ""))


def text_in(text: Any, lang: str) -> str:
    """Any translatable text (an event's, a nested reason, an error's) in `lang`."""
    return render(text, lang, reason_text=_finding)


def event_text(event: Event, lang: str) -> str:
    """The event in `lang`: its recorded English message for English readers and for old records."""
    if lang == "en" or not event.text:
        return event.message
    return text_in(event.text, lang) or event.message


def event_texts(event: Event) -> dict[str, str]:
    """The event in every language (the dashboard picks the reader's)."""
    return {lang: event_text(event, lang) for lang in LANGS}


def reason_in(event: Event, lang: str) -> str | None:
    """The reason nested in the event's text (rollback, pause), in `lang`; None when the event has none."""
    params = (event.text or {}).get("params")
    if not isinstance(params, Mapping) or "reason" not in params:
        return None
    return text_in(params["reason"], lang)


def rollout_reason(events: list[Event], fallback: str | None, lang: str) -> str:
    """Why a rollout ended (rolled back, aborted) in `lang`: the reason its last rollback_started gave,
    else the recorded English reason."""
    for event in reversed(events):
        if event.kind == "rollback_started":
            found = reason_in(event, lang)
            if found:
                return found
            break
    return fallback or ""
