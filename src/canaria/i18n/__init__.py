"""User-facing text in English and Korean. `t(key, lang, **params)`; unknown keys fall back to English."""

from __future__ import annotations

import locale
import os

from canaria.i18n.messages import MESSAGES

__all__ = ["LANGS", "resolve_lang", "t"]

LANGS = ("en", "ko")


def resolve_lang(flag: str | None = None, config_lang: str | None = None) -> str:
    """--lang beats the config's `lang`, which beats LANG/LC_ALL; English otherwise."""
    for candidate in (flag, config_lang):
        if candidate:
            return candidate if candidate in LANGS else "en"
    env = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    if not env:
        try:
            env = locale.getlocale()[0] or ""
        except ValueError:
            env = ""
    return "ko" if env.lower().startswith("ko") else "en"


def t(key: str, lang: str = "en", **params: object) -> str:
    table = MESSAGES.get(lang) or MESSAGES["en"]
    template = table.get(key) or MESSAGES["en"].get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
