"""One call that makes a controller observable: event logs, its own metrics, and the /metrics endpoint.

Commands that run the controller (`run`, `demo`, `dashboard`) call `observe(app.controller, config)` after
opening the app and `close()` when they stop; nothing here changes what the controller decides.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from canaria.controller.events import FanoutSink
from canaria.observability.logs import LoggingSink, configure_logging
from canaria.observability.metrics import ControllerMetrics, attach
from canaria.observability.server import MetricsServer

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.controller.machine import Controller

__all__ = ["Observability", "observe"]


@dataclass
class Observability:
    metrics: ControllerMetrics  # notifiers report to metrics.record_notification(channel, ok=...)
    logger: logging.Logger
    server: MetricsServer | None = None

    @property
    def metrics_url(self) -> str | None:
        return self.server.url if self.server else None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        for handler in list(self.logger.handlers):
            if getattr(handler, "_canaria_handler", False):
                self.logger.removeHandler(handler)
                handler.close()


def observe(controller: Controller, config: CanariaConfig, *, channels: Iterable[str] = (),
            log_stream: IO[str] | None = None, serve: bool = True) -> Observability:
    """Log every event, feed canaria's metrics from events and ticks, and serve them if configured.

    Raises PortInUseError when `observability.metrics_listen` is taken (before anything is attached).
    """
    settings = config.observability
    cloudrun = getattr(config.platform, "cloudrun", None)
    if settings.gcp_project is None and cloudrun is not None:  # on Cloud Run the logs belong to its project
        settings = settings.model_copy(update={"gcp_project": cloudrun.project})
    metrics = ControllerMetrics(config, channels=channels)
    server = MetricsServer(metrics.registry, settings.metrics_listen).start() \
        if serve and settings.metrics_listen else None
    logger = configure_logging(settings, service=config.service, stream=log_stream, base_dir=config.base_dir)
    controller.sink = FanoutSink(controller.sink, LoggingSink())
    attach(controller, metrics)
    return Observability(metrics=metrics, logger=logger, server=server)
