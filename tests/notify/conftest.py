"""Fixtures: real receivers on loopback and a config that points every channel at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from canaria.config import CanariaConfig, parse_config
from tests.conftest import require_binary
from tests.fakes import URL_SERVICE
from tests.notify.receivers import HttpReceiver, SmtpReceiver, self_signed_cert, twilio_receiver

SMTP_USER = "canaria@example.test"
SMTP_PASSWORD = "smtp-pa55-Zq9x!"
TWILIO_TOKEN = "twilio-tok-7f3a9c2e51"
WEBHOOK_SECRET = "whsec-8d1b6e0a44c2"
SLACK_PATH = "/services/T000/B000/slacksecretXYZ123"
APPRISE_PATH = "/apprise/apprisesecretQ77"
SECRETS = (SMTP_PASSWORD, TWILIO_TOKEN, WEBHOOK_SECRET, "slacksecretXYZ123", "apprisesecretQ77")


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = require_binary("openssl")
    return self_signed_cert(tmp_path_factory.mktemp("tls"), openssl)


@pytest.fixture
def smtp(tls_cert: tuple[Path, Path]) -> Iterator[SmtpReceiver]:
    server = SmtpReceiver(*tls_cert, user=SMTP_USER, password=SMTP_PASSWORD).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Receivers:
    slack: HttpReceiver
    twilio: HttpReceiver
    webhook: HttpReceiver
    apprise: HttpReceiver
    smtp: SmtpReceiver
    cert: Path

    async def stop_http(self) -> None:
        for receiver in (self.slack, self.twilio, self.webhook, self.apprise):
            await receiver.stop()


@pytest.fixture
async def receivers(smtp: SmtpReceiver, tls_cert: tuple[Path, Path]) -> AsyncIterator[Receivers]:
    rec = Receivers(await HttpReceiver().start(), await twilio_receiver().start(), await HttpReceiver().start(),
                    await HttpReceiver().start(), smtp, tls_cert[0])
    try:
        yield rec
    finally:
        await rec.stop_http()


BASE = URL_SERVICE + """analysis: {{interval: 5m, min_requests: 10, compare: {{enabled: false}}}}  # these tests are about the guardrails
"""


def notify_yaml(rec: Receivers, *, lang: str = "en", extra: str = "", timeout: str = "2s",
                escalation: str = "") -> str:
    return f"""
notify:
  lang: {lang}
  timeout: {timeout}
  retries: 1
  backoff: 50ms
  backoff_max: 100ms
  channels:
    slack:
      type: slack
      url: "{rec.slack.url}{SLACK_PATH}"
    email:
      type: email
      host: 127.0.0.1
      port: {rec.smtp.port}
      starttls: true
      username: "{SMTP_USER}"
      password: "${{SMTP_PASSWORD}}"
      from: canaria@example.test
      to: [team@example.test]
      ca_file: "{rec.cert}"
    sms:
      type: sms
      account_sid: AC0123
      auth_token: "${{TWILIO_TOKEN}}"
      from: "+15005550006"
      to: ["+821000000000"]
      api_url: "{rec.twilio.url}"
    hook:
      type: webhook
      url: "{rec.webhook.url}/hooks/canaria"
      secret: "${{WEBHOOK_SECRET}}"
    other:
      type: apprise
      urls: ["json://127.0.0.1:{rec.apprise.port}{APPRISE_PATH}"]
  contacts:
    lubit: {{name: Lubit, email: lubit@naeda.test, phone: "+821011111111", slack: "@lubit"}}
    ops-lead: {{name: Ops lead, phone: "+821022222222", slack: "@ops-lead"}}
{escalation}{extra}"""


ENV = {"SMTP_PASSWORD": SMTP_PASSWORD, "TWILIO_TOKEN": TWILIO_TOKEN, "WEBHOOK_SECRET": WEBHOOK_SECRET}


def make_config(tmp_path: Path, rec: Receivers, **kwargs: str) -> CanariaConfig:
    text = BASE.format(state=tmp_path / "state") + notify_yaml(rec, **kwargs)
    return parse_config(text, env=ENV)
