"""Sizes as people write them in config files: 512MB, 1GiB, 300M."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "b": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def parse_size(value: Any) -> int:
    """Bytes from 512MB, 1GiB, 300M or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("size must be positive")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a size; write e.g. 512MB or 1GiB")
    unit = (match.group(2) or "").lower().rstrip("b")
    mult = _SIZE_MULT.get(unit)
    if mult is None:
        raise ValueError(f"unknown size unit in '{value}'")
    return int(float(match.group(1)) * mult)
