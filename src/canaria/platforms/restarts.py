"""A bounded restart rate for the processes canaria supervises (gateway, stable, canary).

A process that dies is started again, but not for ever: at most `max_restarts` within `window_s`, counted in the
platform's state file so the budget holds across controller restarts. A canary past its budget is a NO-GO (it
keeps dying); a gateway or stable past it is reported down for a person to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RestartBudget"]


@dataclass
class RestartBudget:
    max_restarts: int
    window_s: float

    def recent(self, entry: dict[str, Any], now: float) -> list[float]:
        """The restarts recorded in `entry` (a state-file record) that are still inside the window."""
        raw = entry.get("restarts") or []
        return [float(at) for at in raw if isinstance(at, (int, float)) and now - float(at) < self.window_s]

    def allows(self, entry: dict[str, Any], now: float) -> bool:
        return len(self.recent(entry, now)) < self.max_restarts

    def record(self, entry: dict[str, Any], now: float) -> None:
        entry["restarts"] = [*self.recent(entry, now), now]

    def exhausted_reason(self, name: str, entry: dict[str, Any], now: float, last: str) -> str:
        count = len(self.recent(entry, now))
        return (f"{name} keeps dying: restarted {count} time{'s' if count != 1 else ''} within "
                f"{self.window_s:g} s and exited again ({last})")
