"""Event logs through stdlib logging: human-readable lines by default, JSON lines for log pipelines.

The JSON shape follows Google Cloud Logging's structured-log conventions, which most pipelines accept:
`severity` (DEBUG..CRITICAL), `message`, `time` (RFC 3339), `logging.googleapis.com/labels` (with the rollout
id), `logging.googleapis.com/operation` (one operation per rollout) and, when a project is configured (or the
platform is Cloud Run, whose project is used), `logging.googleapis.com/trace`. The trace id is derived from the rollout id, so
every event of one rollout — from `canaria run` or from an operator's `canaria approve` in another
process — lands in the same trace without any shared state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from canaria.config.observability import ObservabilityConfig

if TYPE_CHECKING:
    from canaria.state.store import Event, Rollout

__all__ = ["LOGGER", "JsonFormatter", "LoggingSink", "TextFormatter", "configure_logging", "trace_id_for"]

LOGGER = "canaria"
_EVENT_LOGGER = "canaria.events"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "ok": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}
_SEVERITY = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARNING", logging.ERROR: "ERROR",
             logging.CRITICAL: "CRITICAL"}
_HANDLER_MARK = "_canaria_handler"


def trace_id_for(rollout_id: str) -> str:
    """A W3C-shaped trace id (32 hex digits) that is the same for every event of a rollout."""
    return hashlib.sha256(rollout_id.encode()).hexdigest()[:32]


def _severity(levelno: int) -> str:
    if levelno in _SEVERITY:
        return _SEVERITY[levelno]
    return "DEFAULT" if levelno < logging.DEBUG else _SEVERITY[max(k for k in _SEVERITY if k <= levelno)]


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; events add their kind, rollout, trace and data."""

    def __init__(self, *, gcp_project: str | None = None, service: str | None = None) -> None:
        super().__init__()
        self.gcp_project = gcp_project
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        event: Event | None = getattr(record, "canaria_event", None)
        rollout: Rollout | None = getattr(record, "canaria_rollout", None)
        payload: dict[str, Any] = {
            "time": _rfc3339(event.at if event is not None else record.created),
            "severity": _severity(record.levelno),
            "message": record.getMessage(),
            "logger": record.name,
        }
        labels: dict[str, str] = {}
        service = rollout.service if rollout is not None else self.service
        if service:
            payload["service"] = labels["service"] = service
        rollout_id = (event.rollout_id if event is not None else None) or getattr(record, "rollout_id", None)
        if rollout_id:
            trace = trace_id_for(rollout_id)
            payload["rollout_id"] = labels["rollout_id"] = rollout_id
            payload["trace_id"] = trace
            if self.gcp_project:
                payload["logging.googleapis.com/trace"] = f"projects/{self.gcp_project}/traces/{trace}"
            # Cloud Logging groups a long-running operation's entries by this (the console's "operation" view)
            payload["logging.googleapis.com/operation"] = {"id": rollout_id, "producer": f"canaria/{service or '-'}"}
        if event is not None:
            payload["event"] = {"id": event.id, "kind": event.kind, "actor": event.actor, "data": event.data}
            labels["event"] = event.kind
        if rollout is not None:
            payload["rollout"] = {"phase": rollout.phase, "stage": rollout.stage_index + 1,
                                  "traffic": rollout.traffic}
        if labels:
            payload["logging.googleapis.com/labels"] = labels
        if record.exc_info:
            payload["stack_trace"] = self.formatException(record.exc_info)  # Cloud Error Reporting's field
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2025-01-01T12:00:00Z WARNING  [r-1a2b] decision: OBSERVE (score 70/100): ...`."""

    def format(self, record: logging.LogRecord) -> str:
        event: Event | None = getattr(record, "canaria_event", None)
        when = _rfc3339(event.at if event is not None else record.created)[:19] + "Z"
        rollout_id = (event.rollout_id if event is not None else None) or getattr(record, "rollout_id", None)
        where = f"[{rollout_id}] " if rollout_id else ""
        kind = f"{event.kind}: " if event is not None else ""
        line = f"{when} {_severity(record.levelno):<8} {where}{kind}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(config: ObservabilityConfig | None = None, *, service: str | None = None,
                      stream: IO[str] | None = None, base_dir: Path | None = None) -> logging.Logger:
    """Install one handler on the `canaria` logger (replacing one installed before) and return the logger.

    Output goes to `stream`, else to `config.log_file` (relative to `base_dir`), else to stderr.
    """
    config = config or ObservabilityConfig()
    logger = logging.getLogger(LOGGER)
    for old in list(logger.handlers):
        if getattr(old, _HANDLER_MARK, False):
            logger.removeHandler(old)
            old.close()
    handler: logging.Handler
    if stream is None and config.log_file:
        path = Path(config.log_file)
        path = path if path.is_absolute() or base_dir is None else base_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    formatter: logging.Formatter = (JsonFormatter(gcp_project=config.gcp_project, service=service)
                                    if config.log_format == "json" else TextFormatter())
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(_LEVELS[config.log_level])
    logger.propagate = False
    return logger


class LoggingSink:
    """EventSink: one log line per recorded event, at the event's severity."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(_EVENT_LOGGER)

    async def publish(self, event: Event, rollout: Rollout | None) -> None:
        level = _LEVELS.get(event.severity, logging.INFO)
        message = event.message or event.kind.replace("_", " ")
        self.logger.log(level, message, extra={"canaria_event": event, "canaria_rollout": rollout})
