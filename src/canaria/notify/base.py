"""What every channel sees: a rendered `Notification`, one small `Channel` interface, a null channel.

Channels only deliver; deciding who gets what (routing, dedup, retries, escalation) happens in the
dispatcher, so a new backend is one file of ~100 lines. Blocking SDKs (smtplib, twilio, slack-sdk's
sync client, apprise) run on the channel's own small thread pool, so a hung socket never holds the
event loop that drives a rollback.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from canaria.errors import NotifyError

__all__ = [
    "Channel",
    "Contact",
    "Notification",
    "NullChannel",
    "Redactor",
    "Severity",
    "SyncChannel",
    "redact_library_logs",
]

T = TypeVar("T")


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @classmethod
    def of(cls, value: str) -> Severity:
        try:
            return cls(value)
        except ValueError:
            return cls.CRITICAL if value in ("error", "fatal") else cls.INFO

    @property
    def emoji(self) -> str:
        return {"info": "🟢", "warning": "🟡", "critical": "🔴"}[self.value]


@dataclass(frozen=True)
class Contact:
    key: str
    name: str
    email: str | None = None
    phone: str | None = None
    slack: str | None = None


@dataclass
class Notification:
    """One message, already in its language. `text`/`html`/`short` come from (overridable) templates;
    `fields` and `reasons` are the same facts in structured form for Block Kit and JSON."""

    event_id: int
    kind: str
    severity: Severity
    service: str
    rollout_id: str | None
    at: float
    lang: str
    title: str
    text: str
    html: str
    short: str
    body: str = ""  # the lead sentence (status report line, escalation notice, test message)
    figures: str = ""  # measured values of the last window, one line
    fields: list[tuple[str, str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # JSON facts for webhooks (no secrets)
    contacts: list[Contact] = field(default_factory=list)  # escalation: send to these people
    level: int = 0  # escalation level (0 = ordinary routing)

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "severity": self.severity.value,
            "service": self.service,
            "rollout_id": self.rollout_id,
            "at": self.at,
            "lang": self.lang,
            "title": self.title,
            "text": self.text,
            "body": self.body,
            "figures": self.figures,
            "fields": [{"name": k, "value": v} for k, v in self.fields],
            "reasons": list(self.reasons),
            "escalation_level": self.level,
            "contacts": [c.name for c in self.contacts],
            "data": self.data,
        }


class Channel(ABC):
    """A delivery backend. `send` raises NotifyError (message already free of secrets) on failure."""

    type: str = "abstract"

    def __init__(self, name: str, *, timeout: float) -> None:
        self.name = name
        self.timeout = timeout

    @abstractmethod
    async def send(self, notification: Notification) -> None: ...

    async def close(self) -> None:
        return None


class SyncChannel(Channel):
    """Base for channels whose SDK blocks: each call runs on this channel's thread pool."""

    def __init__(self, name: str, *, timeout: float, threads: int = 2) -> None:
        super().__init__(name, timeout=timeout)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"canaria-notify-{name}")

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def send(self, notification: Notification) -> None:
        await self.run_blocking(lambda: self.send_blocking(notification))

    @abstractmethod
    def send_blocking(self, notification: Notification) -> None: ...

    async def close(self) -> None:
        # never wait for a black-holed socket: its own timeout ends the thread
        self._pool.shutdown(wait=False, cancel_futures=True)


class NullChannel(Channel):
    """Accepts and drops everything, so code never checks for "no channel"."""

    type = "null"

    def __init__(self, name: str = "null", *, timeout: float = 1.0) -> None:
        super().__init__(name, timeout=timeout)
        self.sent: list[Notification] = []

    async def send(self, notification: Notification) -> None:
        self.sent.append(notification)


class Redactor:
    """Replaces every configured secret in text with `***` before it is recorded or logged."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in values)) if values else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub("***", text) if self._pattern else text

    def error(self, exc: BaseException, prefix: str = "") -> NotifyError:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError | asyncio.TimeoutError):
            detail = "timed out"
        return NotifyError(self(f"{prefix}{detail}"))


#: Loggers of the libraries the channels use; some print full URLs (which can hold tokens) at DEBUG/INFO.
LIBRARY_LOGGERS = ("apprise", "httpx", "httpcore", "urllib3.connectionpool", "slack_sdk", "twilio", "requests",
                   "canaria.notify.slack_sdk", "canaria.notify.twilio")


class _RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.redactors: list[Redactor] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactors:
            return True
        text = record.getMessage()
        for redactor in self.redactors:
            text = redactor(text)
        record.msg, record.args = text, None
        return True


_FILTER = _RedactingFilter()


def redact_library_logs(redactor: Redactor) -> None:
    """Scrub this redactor's secrets from what the channel libraries log (filters run before handlers)."""
    if redactor not in _FILTER.redactors:
        _FILTER.redactors.append(redactor)
        del _FILTER.redactors[:-20]  # bounded: one per configured dispatcher, a handful in practice
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
