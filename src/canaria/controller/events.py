"""Where recorded events go after the store: notifiers, the live view. The null sink does nothing."""

from __future__ import annotations

from typing import Any, Protocol

from canaria.config import CanariaConfig
from canaria.controller.clock import Clock
from canaria.state.store import Event, Rollout, Store

__all__ = ["EventSink", "NullSink", "FanoutSink", "Recorder"]


class Recorder(Protocol):
    """What the controller's helpers (status reports, the playbook) need of it, without importing it."""

    config: CanariaConfig
    store: Store
    clock: Clock

    async def record(self, kind: str, rollout: Rollout | None, *, message: str = "", severity: str = "info",
                     actor: str | None = None, data: dict[str, Any] | None = None,
                     text: dict[str, Any] | None = None) -> Event: ...


class EventSink(Protocol):
    async def publish(self, event: Event, rollout: Rollout | None) -> None: ...


class NullSink:
    async def publish(self, event: Event, rollout: Rollout | None) -> None:
        return None


class FanoutSink:
    """Publish to several sinks; one failing sink never stops the others or the controller."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    async def publish(self, event: Event, rollout: Rollout | None) -> None:
        for sink in self.sinks:
            try:
                await sink.publish(event, rollout)
            except Exception:  # noqa: BLE001 - telling people must never block a rollback
                continue
