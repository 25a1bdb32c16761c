"""The `notify:` section of canaria.yaml: channels, routes, contacts, escalation, language, templates.

Secrets (webhook URLs, passwords, tokens, apprise URLs) are `SecretStr`, so they never show in a
repr, a `model_dump()` or a log line; `secret_values()` lists them so text recorded elsewhere
(events, reports) can be scrubbed. Values come from `${ENV}` like every other key.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from canaria.foundation.durations import Duration

__all__ = [
    "DEFAULT_EVENTS",
    "SEVERITIES",
    "AppriseChannelConfig",
    "ChannelConfig",
    "ContactConfig",
    "EmailChannelConfig",
    "EscalationConfig",
    "EscalationLevelConfig",
    "NotifyConfig",
    "NullChannelConfig",
    "RateLimitConfig",
    "RouteConfig",
    "SlackChannelConfig",
    "SmsChannelConfig",
    "WebhookChannelConfig",
]

SEVERITIES = ("info", "warning", "critical")

#: Event kinds that become messages unless `notify.events` says otherwise (DESIGN.md, issue 5).
DEFAULT_EVENTS = (
    "rollout_started",
    "stage_advanced",
    "status_report",
    "decision",
    "approval_needed",
    "approved",
    "manual_promote",
    "paused",
    "resumed",
    "hold_overdue",
    "traffic_set",
    "canary_failed",
    "rollback_started",
    "rollback_finished",
    "promotion_finished",
    "controller_error",
    "controller_stopped",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _ChannelBase(_Model):
    timeout: Duration | None = None  # per channel; default notify.timeout


class SlackChannelConfig(_ChannelBase):
    """Either an incoming webhook (`url`, the secret: one post per state change) or a bot token
    (`token` + `channel`: one message per rollout, edited in place, details in its thread)."""

    type: Literal["slack"]
    url: SecretStr | None = None
    token: SecretStr | None = None  # xoxb-…, with the chat:write scope
    channel: str | None = None  # "#deploys" or a channel id, for the bot token
    api_url: str = "https://slack.com/api/"  # Slack's Web API (a test receiver or a relay may stand in)
    dashboard_url: str | None = None  # linked from the rollout's message
    mention: list[str] = Field(default_factory=list, description="e.g. @here or <@U123> for critical messages")

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackChannelConfig:
        if self.token is None and self.url is None:
            raise ValueError("slack needs `url` (an incoming webhook) or `token` + `channel` (a bot)")
        if self.token is not None and not self.channel:
            raise ValueError("slack `token` needs `channel` (e.g. \"#deploys\")")
        return self


class EmailChannelConfig(_ChannelBase):
    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False  # implicit TLS (port 465) instead of STARTTLS
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(default_factory=list)
    ca_file: str | None = None  # trust this CA (e.g. a company or test CA) in addition to the system's

    @model_validator(mode="after")
    def _tls(self) -> EmailChannelConfig:
        if self.ssl and self.starttls:
            self.starttls = False
        return self


class SmsChannelConfig(_ChannelBase):
    """Twilio. `api_url` lets the REST calls point at another host (a test receiver, a relay)."""

    type: Literal["sms"]
    account_sid: str
    auth_token: SecretStr
    sender: str = Field(alias="from")
    to: list[str] = Field(default_factory=list)
    api_url: str = "https://api.twilio.com"
    max_chars: int = Field(default=320, ge=40)


class WebhookChannelConfig(_ChannelBase):
    type: Literal["webhook"]
    url: SecretStr
    secret: SecretStr | None = None  # HMAC-SHA256 key for X-Canaria-Signature
    headers: dict[str, str] = Field(default_factory=dict)


class AppriseChannelConfig(_ChannelBase):
    type: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)


class NullChannelConfig(_ChannelBase):
    type: Literal["null"]


ChannelConfig = Annotated[
    SlackChannelConfig
    | EmailChannelConfig
    | SmsChannelConfig
    | WebhookChannelConfig
    | AppriseChannelConfig
    | NullChannelConfig,
    Field(discriminator="type"),
]


def _severities(value: str | list[str]) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if item not in SEVERITIES:
            raise ValueError(f"unknown severity '{item}'; use info, warning or critical")
    return items


class RouteConfig(_Model):
    """Which channels get which events. `channels` names a channel or a channel type (slack, email…)."""

    severity: list[str] = Field(default_factory=lambda: list(SEVERITIES))
    kinds: list[str] = Field(default_factory=list, description="only these event kinds (empty: all)")
    channels: list[str] = Field(min_length=1)

    _sev = field_validator("severity", mode="before")(_severities)


def runbook_routes() -> list[RouteConfig]:
    """The runbook: info → Slack, warning → Slack + email, critical → Slack + email + SMS.
    Generic webhooks and apprise targets get every severity."""
    return [
        RouteConfig(severity=["info"], channels=["slack", "webhook", "apprise"]),
        RouteConfig(severity=["warning"], channels=["slack", "email", "webhook", "apprise"]),
        RouteConfig(severity=["critical"], channels=["slack", "email", "sms", "webhook", "apprise"]),
    ]


class ContactConfig(_Model):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    slack: str | None = None  # @handle or <@U123>


class EscalationLevelConfig(_Model):
    after: Duration = Field(description="time since the first unacknowledged critical event")
    contacts: list[str] = Field(default_factory=list)
    channels: list[str] = Field(min_length=1)


class EscalationConfig(_Model):
    levels: list[EscalationLevelConfig] = Field(default_factory=list)
    poll: Duration = 15.0  # how often a running canaria looks for overdue acknowledgements

    @field_validator("levels")
    @classmethod
    def _increasing(cls, levels: list[EscalationLevelConfig]) -> list[EscalationLevelConfig]:
        last = -1.0
        for i, level in enumerate(levels):
            if level.after <= last:
                raise ValueError(f"escalation level {i + 1}: `after` must be later than the level before")
            last = level.after
        return levels


class RateLimitConfig(_Model):
    per_minute: int = Field(default=20, ge=1, description="messages per channel; critical ones always go")


class NotifyConfig(_Model):
    lang: Literal["en", "ko"] | None = None  # default: the top-level `lang`
    template_dir: str | None = None
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=runbook_routes)
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    contacts: dict[str, ContactConfig] = Field(default_factory=dict)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    timeout: Duration = 10.0
    retries: int = Field(default=3, ge=0, le=10)
    backoff: Duration = 1.0  # first retry after this, doubling up to backoff_max
    backoff_max: Duration = 30.0
    dedup_window: Duration = 900.0  # the same message is not repeated within this time
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    queue_size: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _references(self) -> NotifyConfig:
        types = {c.type for c in self.channels.values()}
        for i, level in enumerate(self.escalation.levels):
            for name in level.contacts:
                if name not in self.contacts:
                    raise ValueError(f"escalation level {i + 1}: unknown contact '{name}' (add it under contacts)")
            for name in level.channels:
                if name not in self.channels and name not in types:
                    raise ValueError(f"escalation level {i + 1}: unknown channel '{name}'")
        return self

    def secret_values(self) -> list[str]:
        """Every configured secret, longest first, for scrubbing text before it is recorded."""
        found: list[str] = []
        for channel in self.channels.values():
            for value in channel.__dict__.values():
                values = value if isinstance(value, list) else [value]
                for item in values:
                    if isinstance(item, SecretStr):
                        found.extend(_secret_parts(item.get_secret_value()))
        return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def _secret_parts(value: str) -> list[str]:
    """A secret and, for a URL, the parts an error message may quote on their own (path, password)."""
    parts = [value]
    if "://" in value:
        split = urlsplit(value)
        if split.password:
            parts.append(split.password)
        if len(split.path) >= 8:
            parts.append(split.path)
        if split.query:
            parts.append(split.query)
    return parts
