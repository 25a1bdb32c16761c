"""The interface of a metrics provider: one window of control-vs-canary measurements per tick, and, where the
backend keeps history, the stable version's own windows from before the canary started (the judge's baseline)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from canaria.analysis.window import VariantWindow, Window

__all__ = ["MetricsProvider", "ProviderCheck"]


@dataclass
class ProviderCheck:
    name: str
    ok: bool
    detail: str  # English (the record and --json keep it)
    text: dict[str, Any] | None = None  # `detail` as a catalogue key + params (canaria.i18n.text), if it has one


class MetricsProvider(ABC):
    @abstractmethod
    async def read_window(self, *, start: float, end: float, stage_index: int, canary_weight: float,
                          cut: bool = True) -> Window:
        """Measurements for [start, end]. `cut=False` peeks without closing the window (for `metrics`)."""

    @abstractmethod
    async def check(self) -> list[ProviderCheck]:
        """Pre-flight: the provider answers and has data for both variants."""

    async def read_baseline(self, *, start: float, end: float, interval: float) -> list[VariantWindow]:
        """The stable version's windows over [start, end], cut every `interval` seconds, oldest first: each one
        the `control` side of what `read_window` would have measured then. Windows without stable requests
        are left out. The default has none: a provider that only sees from now on (the gateway's meter, a
        syslog socket) has no history to offer, and the judge then pools the rollout's own control only."""
        return []

    async def close(self) -> None:
        """Release clients."""
