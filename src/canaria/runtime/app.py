"""Wiring: config → store, platform, metrics provider, controller. One place builds the object graph."""

from __future__ import annotations

import getpass
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from canaria.config import CanariaConfig
from canaria.controller.actions import Operator
from canaria.controller.clock import Clock
from canaria.controller.events import EventSink, FanoutSink
from canaria.controller.lock import ControllerLock
from canaria.controller.machine import Controller
from canaria.metrics import create_provider
from canaria.metrics.base import MetricsProvider
from canaria.platforms import create_platform
from canaria.platforms.base import Platform
from canaria.state.store import Store

if TYPE_CHECKING:
    from canaria.web.context import OperatorFactory

__all__ = ["App", "app_operator_factory", "default_actor", "open_app"]


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return os.environ.get("CANARIA_ACTOR") or user


@dataclass
class App:
    config: CanariaConfig
    store: Store
    platform: Platform
    metrics: MetricsProvider
    controller: Controller
    lock: ControllerLock
    dispatcher: Any = None  # canaria.notify.NotifyDispatcher when notifications are on
    observability: Any = None  # canaria.observability.setup.Observability once observe() ran

    def observe(self) -> Any:
        """Structured logs, canaria's own metrics and their /metrics endpoint (observability config)."""
        from canaria.observability.setup import observe

        channels = list(self.config.notify.channels) if self.dispatcher is not None else []
        obs = observe(self.controller, self.config, channels=channels)
        if self.dispatcher is not None:
            self.dispatcher.on_delivery = lambda channel, ok: obs.metrics.record_notification(channel, ok=ok)
        self.observability = obs
        return obs

    async def close(self) -> None:
        if getattr(self, "observability", None) is not None:
            self.observability.close()
        if self.dispatcher is not None:  # let queued messages go out (bounded), then stop
            await self.dispatcher.aclose(timeout=self.config.notify.timeout + 2.0)
        await self.metrics.close()
        await self.platform.close()
        self.store.close()


def open_app(
    config: CanariaConfig,
    *,
    owned: bool = False,
    clock: Clock | None = None,
    sink: EventSink | None = None,
    lang: str = "en",
    actor: str | None = None,
    platform: Platform | None = None,
    metrics: MetricsProvider | None = None,
    notify: bool = False,
) -> App:
    """Build the object graph. `notify=True` adds the notification dispatcher to the event sinks."""
    store = Store.for_state_dir(config.state_path)
    dispatcher = None
    if notify:
        from canaria.notify.dispatcher import NotifyDispatcher

        dispatcher = NotifyDispatcher(config, store, clock=clock, lang=lang)
        sink = FanoutSink(dispatcher, sink) if sink is not None else dispatcher
    platform = platform or create_platform(config, owned=owned)
    metrics = metrics or create_provider(config, platform)
    controller = Controller(config, store, platform, metrics, clock=clock, sink=sink,
                            actor=actor or "canaria", lang=lang)
    return App(config, store, platform, metrics, controller, ControllerLock(config.state_path, config.service),
               dispatcher)


def app_operator_factory(config: CanariaConfig, *, lang: str = "en") -> OperatorFactory:
    """The standalone dashboard: each action opens the app like the CLI does, as the caller, then closes it."""

    @asynccontextmanager
    async def factory(name: str) -> AsyncIterator[Operator]:
        application = open_app(config, actor=name, lang=lang)
        try:
            yield Operator(application.controller, actor=name)
        finally:
            await application.close()

    return factory
