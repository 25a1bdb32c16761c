"""Slack with a bot token: one message per rollout, edited in place, the details in its thread.

Seven posts in half a minute for one good rollout bury the channel. With a bot token the first event
of a rollout posts one message (`chat.postMessage`); every later event rewrites it (`chat.update`) with
the current progress line and the decision's plain sentence, and posts its details as a reply in the
message's thread (`thread_ts`). Critical replies are also broadcast to the channel so a rollback is seen.
The token is the secret: slack-sdk logs through a quiet logger and errors are redacted at this edge.
"""

from __future__ import annotations

import threading
from typing import Any

from slack_sdk import WebClient

from canaria.config.notify import SlackChannelConfig
from canaria.errors import NotifyError
from canaria.notify.base import Notification, Redactor, Severity, SyncChannel
from canaria.notify.slack import _quiet, slack_blocks

__all__ = ["SlackBotChannel", "progress_blocks"]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def progress_blocks(n: Notification, *, dashboard_url: str | None) -> list[dict[str, Any]]:
    """The rollout's one message: where it stands now, the latest plain sentence, links."""
    facts = " · ".join(f"{label}: {value}" for label, value in n.fields[:3])
    lines = [f"{n.severity.emoji} *{_esc(n.title)}*"]
    if n.body:
        lines.append(_esc(n.body))
    if facts:
        lines.append(_esc(facts))
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}}]
    links = [f"<{dashboard_url}|dashboard (the deployment record is linked there)>"] if dashboard_url else []
    context = " · ".join([*links, _esc(f"{n.service} · {n.rollout_id or '-'}")])
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return blocks


class SlackBotChannel(SyncChannel):
    type = "slack"

    def __init__(self, name: str, config: SlackChannelConfig, *, timeout: float, redact: Redactor) -> None:
        super().__init__(name, timeout=timeout, threads=1)  # one thread: the first post happens before updates
        assert config.token is not None and config.channel is not None
        self._client = WebClient(token=config.token.get_secret_value(), base_url=config.api_url,
                                 timeout=max(1, round(timeout)), logger=_quiet)
        self._channel = config.channel
        self._mention = config.mention
        self._dashboard_url = config.dashboard_url
        self._redact = redact
        self._messages: dict[str, tuple[str, str]] = {}  # rollout id → (channel id, ts of its message)
        self._lock = threading.Lock()

    def send_blocking(self, notification: Notification) -> None:
        key = notification.rollout_id or f"event-{notification.event_id}"
        text = f"{notification.severity.emoji} {notification.title}"
        progress = progress_blocks(notification, dashboard_url=self._dashboard_url)
        try:
            with self._lock:
                root = self._messages.get(key)
                if root is None:
                    reply = self._client.chat_postMessage(channel=self._channel, text=text, blocks=progress)
                    self._messages[key] = (str(reply["channel"]), str(reply["ts"]))
                    return
                channel, ts = root
                self._client.chat_update(channel=channel, ts=ts, text=text, blocks=progress)
                critical = notification.severity is Severity.CRITICAL
                mention = self._mention if critical else []
                self._client.chat_postMessage(channel=channel, thread_ts=ts, text=text, reply_broadcast=critical,
                                              blocks=slack_blocks(notification, mention))
        except Exception as exc:  # noqa: BLE001 - SlackApiError, urllib and socket errors, mapped at the edge
            raise NotifyError(self._redact(f"slack: {exc}")) from None
