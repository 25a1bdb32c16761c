"""The factory keyed by channel `type`; backends are imported only when configured (their SDKs are heavy)."""

from __future__ import annotations

from pathlib import Path

from canaria.config.notify import ChannelConfig, NotifyConfig
from canaria.notify.base import Channel, NullChannel, Redactor, redact_library_logs

__all__ = ["create_channel", "create_channels"]


def create_channel(name: str, config: ChannelConfig, *, default_timeout: float, redact: Redactor,
                   state_db: Path | None = None) -> Channel:
    """`state_db`: the store a channel that edits its messages (Slack bot) remembers them in across restarts."""
    timeout = config.timeout if config.timeout is not None else default_timeout
    if config.type == "slack" and config.token is not None:
        from canaria.notify.slack_bot import SlackBotChannel

        return SlackBotChannel(name, config, timeout=timeout, redact=redact, state_db=state_db)
    if config.type == "slack":
        from canaria.notify.slack import SlackChannel

        return SlackChannel(name, config, timeout=timeout, redact=redact)
    if config.type == "email":
        from canaria.notify.email import EmailChannel

        return EmailChannel(name, config, timeout=timeout, redact=redact)
    if config.type == "sms":
        from canaria.notify.sms import SmsChannel

        return SmsChannel(name, config, timeout=timeout, redact=redact)
    if config.type == "webhook":
        from canaria.notify.webhook import WebhookChannel

        return WebhookChannel(name, config, timeout=timeout, redact=redact)
    if config.type == "apprise":
        from canaria.notify.apprise_channel import AppriseChannel

        return AppriseChannel(name, config, timeout=timeout, redact=redact)
    return NullChannel(name, timeout=timeout)


def create_channels(config: NotifyConfig, redact: Redactor, *, state_db: Path | None = None) -> dict[str, Channel]:
    redact_library_logs(Redactor(config.secret_values()))
    return {name: create_channel(name, cfg, default_timeout=config.timeout, redact=redact, state_db=state_db)
            for name, cfg in config.channels.items()}
