"""The one line an entry point prints for an error it stops on (`canaria …`, `python -m canaria.gateway`).

It lives below every entry point so each prints the same words: English exactly the error's own (tools and tests
match them), another language from the error's catalogue key when it has one."""

from __future__ import annotations

from canaria.errors import CanariaError
from canaria.i18n import t
from canaria.i18n.text import render

__all__ = ["error_line"]


def error_line(exc: CanariaError, lang: str) -> str:
    """`error: …` in the reader's language; in English exactly the error's own words (tools match them)."""
    if lang == "en":
        return f"error: {exc}"
    return t("cli.error", lang, message=render(exc.text, lang))
