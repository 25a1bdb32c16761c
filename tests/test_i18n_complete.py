"""Every user-facing key exists in both languages, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from canaria.i18n import LANGS
from canaria.i18n.messages import MESSAGES


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_key() -> None:
    keys = set().union(*(MESSAGES[lang] for lang in LANGS))
    for lang in LANGS:
        missing = sorted(keys - set(MESSAGES[lang]))
        assert not missing, f"{lang} lacks {len(missing)} key(s): {missing[:20]}"


def test_placeholders_match_across_languages() -> None:
    for key, english in MESSAGES["en"].items():
        for lang in LANGS:
            assert _fields(MESSAGES[lang][key]) == _fields(english), f"{lang}:{key}"


_SRC = Path(__file__).resolve().parent.parent / "src" / "canaria"
# catalogue keys written as literals where text is recorded or raised: msg("event.…"), key="error.…", "key": "…"
_KEY_LITERALS = re.compile(r"""(?:\bmsg\(\s*|\bkey=|["']key["']:\s*|\boperator_text\([^,]+,\s*)["']([a-z_]+(?:\.[a-z_]+)+)["']""")


# The judge's findings (analysis/) carry keys too; their catalogue is the judge's own and falls back to the
# finding's English sentence, so they are checked where that catalogue is, not here.
_OWN_CATALOGUE = ("analysis",)


def _keys_in_source() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in _SRC.rglob("*.py"):
        if path.relative_to(_SRC).parts[0] in _OWN_CATALOGUE:
            continue
        for key in _KEY_LITERALS.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(_SRC)))
    return found


def test_every_key_the_code_records_or_raises_is_in_both_languages() -> None:
    used = _keys_in_source()
    assert {"event.rollback_started", "event.stage_advanced", "error.config.not_found",
            "error.nginx.reload_failed", "event.paused_by_operator"} <= set(used)  # the scan sees them
    for lang in LANGS:
        missing = sorted(f"{key} ({where})" for key, where in used.items() if key not in MESSAGES[lang])
        assert not missing, f"{lang} lacks key(s) used in the code: {missing}"


def test_a_missing_korean_key_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests above are not vacuous: drop one Korean entry and they say which."""
    monkeypatch.delitem(MESSAGES["ko"], "event.rollback_started")
    with pytest.raises(AssertionError, match="event.rollback_started"):
        test_every_language_has_every_key()
    with pytest.raises(AssertionError, match="event.rollback_started"):
        test_every_key_the_code_records_or_raises_is_in_both_languages()
