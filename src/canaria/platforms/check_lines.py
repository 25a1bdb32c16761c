"""A backend's `canaria check` line (or health answer) built from its catalogue text (canaria.i18n.text).

The English `detail` (what `check --json`, the deployment record and other tools read) is rendered from the very
text `check --lang ko` renders, so the two languages can never say different things."""

from __future__ import annotations

from typing import Any

from canaria.errors import CanariaError
from canaria.i18n.text import render
from canaria.platforms.base import HealthResult, PlatformCheck, Variant

__all__ = ["check_line", "failed_line", "health_result"]


def check_line(name: str, ok: bool, text: dict[str, Any], *, warning: bool = False) -> PlatformCheck:
    """A line saying `text` (a catalogue entry, a join of them, or words from outside as a literal)."""
    return PlatformCheck(name, ok, render(text, "en"), warning=warning, text=text)


def failed_line(name: str, exc: CanariaError) -> PlatformCheck:
    """A failed line saying the error: its own English words, and its key when it has one."""
    return PlatformCheck(name, False, str(exc), text=exc.text)


def health_result(variant: Variant, path: str, ok: bool, status: int | None, text: dict[str, Any],
                  body: dict[str, object] | None = None) -> HealthResult:
    """A health answer saying `text`; its English `detail` is rendered from it (an error's or a status's own
    words travel inside as literals)."""
    return HealthResult(variant, path, ok, status, render(text, "en"), body, text=text)
