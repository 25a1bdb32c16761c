"""Telling people: Slack, email, SMS, webhooks and apprise, with severity routing and escalation.

    NotifyDispatcher(config, store=None, clock=, lang=)   the EventSink the controller publishes to
    send_test(config, lang)                                `canaria check --notify-test`
    acknowledge(store, rollout_id=, actor=, at=)           `canaria ack`

Names are imported lazily: `canaria.config` imports `canaria.config.notify`, and the dispatcher
imports `canaria.config`, so an eager package import would be circular.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Channel",
    "Contact",
    "Notification",
    "NotifyConfig",
    "NotifyDispatcher",
    "NullChannel",
    "Severity",
    "acknowledge",
    "send_test",
]

_WHERE = {
    "NotifyDispatcher": "dispatcher", "NotifyConfig": "config", "Notification": "base", "Severity": "base",
    "Channel": "base", "NullChannel": "base", "Contact": "base", "send_test": "check", "acknowledge": "escalation",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"canaria.notify.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'canaria.notify' has no attribute {name!r}")
