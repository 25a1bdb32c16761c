"""Any other service (Teams, Discord, Telegram, ntfy, Pushover, …) through apprise URLs.

Apprise URLs embed their tokens, so they are secrets: a failure is reported by position
("url 2 of 3") and status, never by URL.
"""

from __future__ import annotations

import warnings
from typing import Any

import apprise

from canaria.config.notify import AppriseChannelConfig
from canaria.errors import NotifyError
from canaria.notify.base import Notification, Redactor, Severity, SyncChannel

__all__ = ["AppriseChannel"]

_TYPES = {Severity.INFO: apprise.NotifyType.INFO, Severity.WARNING: apprise.NotifyType.WARNING,
          Severity.CRITICAL: apprise.NotifyType.FAILURE}


def _load_plugins() -> None:
    """Apprise loads its plugins on first use; some import deprecated stdlib modules (imghdr). Load them
    once here, on the caller's thread, with that warning silenced, instead of inside a worker thread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise().add("json://127.0.0.1")


class AppriseChannel(SyncChannel):
    type = "apprise"

    def __init__(self, name: str, config: AppriseChannelConfig, *, timeout: float, redact: Redactor) -> None:
        super().__init__(name, timeout=timeout)
        self._urls = [u.get_secret_value() for u in config.urls]
        self._redact = redact
        _load_plugins()

    def send_blocking(self, notification: Notification) -> None:
        failed: list[str] = []
        for index, url in enumerate(self._urls, 1):
            app = apprise.Apprise()
            if not app.add(url):
                failed.append(f"url {index} of {len(self._urls)} is not a valid apprise URL")
                continue
            try:
                result: Any = app.notify(body=notification.text, title=notification.title,
                                         notify_type=_TYPES[notification.severity], timeout=self.timeout)
            except Exception as exc:  # noqa: BLE001 - plugin errors, mapped at the edge
                failed.append(f"url {index} of {len(self._urls)}: {type(exc).__name__}")
                continue
            if not result:
                status = getattr(getattr(result, "status", None), "name", "failed")
                failed.append(f"url {index} of {len(self._urls)}: {status.lower()}")
        if failed:
            raise NotifyError(self._redact(f"apprise {self.name}: " + "; ".join(failed)))
