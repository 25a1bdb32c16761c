"""Slack through an incoming webhook (slack-sdk `WebhookClient`), as a Block Kit message.

The blocks carry the state, traffic, score, reasons and the next check; `text` is the fallback that
phones show in the push notification. The webhook URL is the secret: slack-sdk's own logger gets a
quiet child logger so the URL it logs at DEBUG never reaches canaria's logs.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.webhook import WebhookClient

from canaria.config.notify import SlackChannelConfig
from canaria.errors import NotifyError
from canaria.notify.base import Notification, Redactor, Severity, SyncChannel

__all__ = ["STATE_CHANGES", "SlackChannel", "slack_blocks"]

#: the events that change what a rollout is doing (a webhook posts these; a bot threads everything)
STATE_CHANGES = frozenset({"rollout_started", "stage_advanced", "approval_needed", "approved", "manual_promote",
                           "paused", "resumed", "hold_overdue", "traffic_set", "canary_failed", "rollback_started",
                           "rollback_finished", "promotion_finished", "controller_error", "controller_stopped",
                           "escalated", "test"})

_quiet = logging.getLogger("canaria.notify.slack_sdk")
_quiet.setLevel(logging.WARNING)
_quiet.propagate = False  # the dispatcher records and logs the failure itself, without the URL
_quiet.addHandler(logging.NullHandler())


def slack_blocks(n: Notification, mention: list[str] | None = None) -> list[dict[str, Any]]:
    """Block Kit: header, the facts as fields, reasons as a list, and a context line."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{n.severity.emoji} {n.title}"[:150],
                                    "emoji": True}},
    ]
    mentions = [m for m in (mention or []) if m] + [c.slack for c in n.contacts if c.slack]
    if mentions:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " ".join(mentions)}})
    if n.body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _esc(n.body)[:2900]}})
    if n.fields:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{_esc(label)}*\n{_esc(value)}"} for label, value in n.fields[:10]
        ]})
    if n.reasons:
        lines = "\n".join(f"• {_esc(r)}" for r in n.reasons[:10])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines[:2900]}})
    if n.figures:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(n.figures)[:2900]}]})
    context = f"{n.service} · {n.rollout_id or '-'} · {n.kind}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(context)}]})
    return blocks


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(SyncChannel):
    type = "slack"

    def __init__(self, name: str, config: SlackChannelConfig, *, timeout: float, redact: Redactor) -> None:
        super().__init__(name, timeout=timeout)
        assert config.url is not None  # the bot-token form is SlackBotChannel
        self._url = config.url.get_secret_value()
        self._mention = config.mention
        self._redact = redact

    def send_blocking(self, notification: Notification) -> None:
        if notification.kind not in STATE_CHANGES:
            return  # an incoming webhook cannot edit: one post per state change, not per decision or report
        client = WebhookClient(self._url, timeout=max(1, round(self.timeout)), logger=_quiet)
        mention = self._mention if notification.severity is Severity.CRITICAL else []
        try:
            response = client.send(text=f"{notification.severity.emoji} {notification.title}",
                                   blocks=slack_blocks(notification, mention))
        except Exception as exc:  # noqa: BLE001 - urllib/socket errors, mapped at the edge
            raise self._redact.error(exc, "slack: ") from None
        if response.status_code != 200:
            raise NotifyError(self._redact(f"slack: HTTP {response.status_code} {response.body[:200]}"))
