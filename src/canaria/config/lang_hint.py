"""The language a canaria.yaml asks for, read from the raw YAML even when the file does not load.

A config that fails to validate is still the operator's: when it says `lang: ko`, its own error should be
in Korean too, as if it had loaded. So this reads only the top-level `lang` and never raises.
"""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["declared_lang"]

_LANGS = ("en", "ko")


def declared_lang(path: str | Path) -> str | None:
    """`en` or `ko` when the file parses as a YAML mapping with that top-level `lang`; None otherwise."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    lang = data.get("lang")
    return lang if isinstance(lang, str) and lang in _LANGS else None
