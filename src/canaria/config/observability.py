"""`observability:` in canaria.yaml — where canaria's own metrics are served and how events are logged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from canaria.foundation.addresses import parse_address

__all__ = ["ObservabilityConfig"]


class ObservabilityConfig(BaseModel):
    """Off by default except human-readable logs: a controller must not grab a port nobody asked for."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: HOST:PORT of the controller's /metrics (e.g. 127.0.0.1:9108); None = not served
    metrics_listen: str | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    #: write log lines to this file (relative to canaria.yaml's folder) instead of stderr, e.g. to keep
    #: `canaria run`'s live view clean while a log shipper tails the file
    log_file: str | None = None
    #: Google Cloud project id: JSON lines then carry `logging.googleapis.com/trace` so Cloud Logging
    #: groups a rollout's events under one trace
    gcp_project: str | None = None

    @field_validator("metrics_listen")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None

        parse_address(value)
        return value
