"""Translatable text kept as data: a catalogue key and its parameters, rendered in the reader's language later.

The controller records an event once, but people read it in several languages and places (live view, dashboard,
Slack, report). So an event carries a `text` — `{"key": "event.stage_advanced", "params": {...}}` — besides its
English `message` (what `--json` consumers and old records have). Parameters are plain values or nested texts:

    {"key": K, "params": {...}}    another catalogue entry (a rollback's reason, an error with a key)
    {"span": 34.2}                 a duration, written at the plan's scale ("34 s", "34초")
    {"reason": {...Reason dict}}   a judge finding; English is the judge's own sentence, other languages ask
                                   `reason_text` (the plain finding sentence of `canaria.notify.sentence`)
    {"by_lang": {"en": …, "ko": …}} text already written in every language (the periodic status report)
    {"literal": "…"}               words from outside (an operator's reason, a platform's answer), never translated
    {"join": [...], "sep": "; "}   several texts in a row (the parts of a health summary)

Everything is JSON, so the store keeps it as it is and old records without a `text` still display their message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from canaria.i18n import t
from canaria.i18n.messages import MESSAGES
from canaria.i18n.spans import format_span

__all__ = ["ReasonText", "by_lang", "join", "literal", "msg", "reason", "render", "span"]

ReasonText = Callable[[Mapping[str, Any], str], str]


def msg(key: str, **params: Any) -> dict[str, Any]:
    """A catalogue entry with its parameters (which may themselves be texts)."""
    return {"key": key, "params": params}


def span(seconds: float) -> dict[str, Any]:
    return {"span": round(float(seconds), 3)}


def reason(found: Mapping[str, Any]) -> dict[str, Any]:
    return {"reason": dict(found)}


def literal(words: str) -> dict[str, Any]:
    return {"literal": words}


def by_lang(texts: Mapping[str, str]) -> dict[str, Any]:
    return {"by_lang": dict(texts)}


def join(texts: list[Any], sep: str = "; ") -> dict[str, Any]:
    return {"join": list(texts), "sep": sep}


def render(text: Any, lang: str, *, reason_text: ReasonText | None = None) -> str:
    """The text in `lang` (English when the language lacks it); any other value reads as itself."""
    if isinstance(text, Mapping):
        if "key" in text:
            params = text.get("params") or {}
            rendered = {name: render(value, lang, reason_text=reason_text) for name, value in params.items()}
            key = str(text["key"])
            if key not in MESSAGES["en"] and "fallback" in text:
                return str(text["fallback"])
            return t(key, lang, **rendered)
        if "span" in text:
            return format_span(float(text["span"] or 0.0), lang)
        if "reason" in text:
            found = text["reason"] or {}
            if lang != "en" and reason_text is not None:
                return reason_text(found, lang)
            return str(found.get("message", ""))
        if "by_lang" in text:
            table = text["by_lang"] or {}
            return str(table.get(lang) or table.get("en") or "")
        if "literal" in text:
            return str(text["literal"])
        if "join" in text:
            sep = str(text.get("sep", "; "))
            return sep.join(render(part, lang, reason_text=reason_text) for part in text["join"] or [])
    if isinstance(text, float):
        return f"{text:g}"
    return "" if text is None else str(text)
