"""Every user-facing key exists in both languages, with the same placeholders."""

from __future__ import annotations

import string

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
