"""Severity routing: which channels get an event (runbook: info → Slack, warning → + email,
critical → + SMS). A route names channels by name or by type, so the default works with any naming."""

from __future__ import annotations

from collections.abc import Mapping

from canaria.config.notify import NotifyConfig

__all__ = ["Router"]


class Router:
    def __init__(self, config: NotifyConfig, channel_types: Mapping[str, str]) -> None:
        self.config = config
        self.channel_types = dict(channel_types)  # name -> type

    def resolve(self, names: list[str]) -> list[str]:
        """Channel names for a list of names-or-types, in configuration order, without repeats."""
        wanted = set(names)
        return [name for name, kind in self.channel_types.items() if name in wanted or kind in wanted]

    def route(self, kind: str, severity: str) -> list[str]:
        if kind not in self.config.events:
            return []
        selected: set[str] = set()
        for rule in self.config.routes:
            if severity in rule.severity and (not rule.kinds or kind in rule.kinds):
                selected.update(self.resolve(rule.channels))
        return [name for name in self.channel_types if name in selected]
