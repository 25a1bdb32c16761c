"""Slack with a bot token: one message per rollout, edited in place, the details in its thread.

Seven posts in half a minute for one good rollout bury the channel. With a bot token the first event
of a rollout posts one message (`chat.postMessage`); every later event rewrites it (`chat.update`) with
the current progress line and the decision's plain sentence, and posts its details as a reply in the
message's thread (`thread_ts`). Critical replies are also broadcast to the channel so a rollback is seen.
The message's channel id and ts are kept in the state store (`chat_messages`), so a controller restarted after
a crash (`kill -9`, then `canaria run`) goes on editing the same message instead of posting a second one.
The token is the secret: slack-sdk logs through a quiet logger and errors are redacted at this edge.
"""

from __future__ import annotations

import threading
from contextlib import closing
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from canaria.config.notify import SlackChannelConfig
from canaria.errors import NotifyError, StoreError
from canaria.notify.base import Notification, Redactor, Severity, SyncChannel
from canaria.notify.slack import _quiet, slack_blocks
from canaria.state.store import Store

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

    def __init__(self, name: str, config: SlackChannelConfig, *, timeout: float, redact: Redactor,
                 state_db: Path | None = None) -> None:
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
        self._state_db = state_db

    def _remembered(self, rollout_id: str | None) -> tuple[str, str] | None:
        """The rollout's message as an earlier controller posted it (None: post one). A store that cannot be
        read costs a second message, never the notification."""
        if rollout_id is None or self._state_db is None:
            return None
        try:  # a connection of this worker thread's own (SQLite connections stay in their thread)
            with closing(Store(self._state_db)) as store:
                return store.chat_message(rollout_id, self.name)
        except StoreError:
            return None

    def _remember(self, rollout_id: str | None, conversation: str, ts: str) -> None:
        if rollout_id is None or self._state_db is None:
            return
        try:
            with closing(Store(self._state_db)) as store:
                store.save_chat_message(rollout_id, self.name, conversation=conversation, message_ts=ts)
        except StoreError:
            return

    def send_blocking(self, notification: Notification) -> None:
        key = notification.rollout_id or f"event-{notification.event_id}"
        text = f"{notification.severity.emoji} {notification.title}"
        progress = progress_blocks(notification, dashboard_url=self._dashboard_url)
        try:
            with self._lock:
                root = self._messages.get(key) or self._remembered(notification.rollout_id)
                if root is None:
                    reply = self._client.chat_postMessage(channel=self._channel, text=text, blocks=progress)
                    self._messages[key] = (str(reply["channel"]), str(reply["ts"]))
                    self._remember(notification.rollout_id, *self._messages[key])
                    return
                self._messages[key] = root
                channel, ts = root
                self._client.chat_update(channel=channel, ts=ts, text=text, blocks=progress)
                critical = notification.severity is Severity.CRITICAL
                mention = self._mention if critical else []
                self._client.chat_postMessage(channel=channel, thread_ts=ts, text=text, reply_broadcast=critical,
                                              blocks=slack_blocks(notification, mention))
        except Exception as exc:  # noqa: BLE001 - SlackApiError, urllib and socket errors, mapped at the edge
            raise NotifyError(self._redact(f"slack: {exc}")) from None
