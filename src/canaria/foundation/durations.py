"""Durations as people write them in canaria.yaml: "90s", "5m", "1h30m", "250ms" or a number of seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["parse_duration", "format_duration", "Duration"]

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds from a duration; raises ValueError with a hint on bad input."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 5m or 1h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if not text:
            raise ValueError("expected a duration like 30s, 5m or 1h")
        if text.startswith("-"):
            raise ValueError(f"duration must not be negative (got {value})")
        try:
            seconds = float(text)
        except ValueError:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNIT_S[match.group(2)]
                pos = match.end()
            if pos != len(text) or pos == 0:
                raise ValueError(f"'{value}' is not a duration; write e.g. 30s, 5m, 1h or 1h30m") from None
    else:
        raise ValueError("expected a duration like 30s, 5m or 1h")
    if seconds < 0:
        raise ValueError(f"duration must not be negative (got {value})")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:.0f}ms"
    seconds_int = int(round(seconds))
    h, rest = divmod(seconds_int, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s or not (h or m) else ""]
    return "".join(parts)


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
