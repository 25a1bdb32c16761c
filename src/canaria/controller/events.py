"""Where recorded events go after the store: notifiers, the live view. The null sink does nothing."""

from __future__ import annotations

from typing import Protocol

from canaria.state.store import Event, Rollout

__all__ = ["EventSink", "NullSink", "FanoutSink"]


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
