"""How `canaria check` shows a backend's own lines (runtime/preflight.py): the catalogue text in the reader's
language when the line has one, else its English `detail`."""

from __future__ import annotations

from canaria.i18n.text import render
from canaria.platforms.base import PlatformCheck


def shown(checks: list[PlatformCheck], lang: str) -> dict[str, str]:
    return {check.name: render(check.text, lang) if check.text else check.detail for check in checks}


def english(checks: list[PlatformCheck]) -> dict[str, str]:
    """The English lines; a line with a text must say in English exactly what its `detail` (the JSON) says."""
    lines = {check.name: check.detail for check in checks}
    assert shown(checks, "en") == lines
    return lines


def untranslated(checks: list[PlatformCheck]) -> list[str]:
    """Lines that would read in English under `--lang ko` (no catalogue text)."""
    return [check.name for check in checks if not check.text]
