"""Each channel against its real receiver: Slack Block Kit, SMTP with STARTTLS + login, Twilio, the signed
webhook, apprise; and `send_test` reporting per channel."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

import pytest

from canaria.notify.base import Contact, Redactor
from canaria.notify.channels import create_channels
from canaria.notify.check import send_test
from canaria.notify.render import Renderer
from canaria.notify.templates import TemplateSet
from canaria.state.store import Event
from tests.notify.conftest import (
    SECRETS,
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    Receivers,
    make_config,
)
from tests.notify.receivers import wait_for

VERDICT = {
    "decision": "NO-GO", "score": 12, "needs_requests": 0, "hold_extension_s": 0, "needs_human": False,
    "reasons": [
        {"check": "error_rate_pct", "severity": "critical", "decision": "NO-GO",
         "message": "error rate 10.0% > 1% on 3 consecutive checks", "key": "guardrail.breached",
         "params": {"metric": "error_rate_pct", "value": 10.0, "max": 1.0, "streak": 3, "consecutive": 3},
         "canary_value": 10.0, "control_value": 0.0, "threshold": 1.0, "evidence": "3/3 consecutive"},
        {"check": "p95_ms", "severity": "ok", "decision": "GO", "message": "P95 180 ms ≤ 500 ms", "key": "guardrail.ok",
         "params": {}, "canary_value": 180.0, "control_value": 170.0, "threshold": 500.0, "evidence": ""},
    ],
}


def rollback_event() -> Event:
    return Event(7, "ion-api-abc", 1_700_000_000.0, "rollback_started", "critical", "canaria",
                 "rolling back: error rate 10.0% > 1% on 3 consecutive checks",
                 {"reason": "error rate 10.0% > 1% on 3 consecutive checks", "outcome": "rolled_back",
                  "verdict": VERDICT})


async def test_every_channel_delivers_to_its_real_receiver(tmp_path: Path, receivers: Receivers,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = make_config(tmp_path, receivers, lang="ko")
    redact = Redactor(config.notify.secret_values())
    channels = create_channels(config.notify, redact)
    renderer = Renderer(config, lang="ko", templates=TemplateSet())
    note = renderer.build(rollback_event(), None)
    try:
        for channel in channels.values():
            await channel.send(note)
    finally:
        for channel in channels.values():
            await channel.close()

    # Slack: Block Kit with the title, the reasons (with the measured values) and a fallback text
    (slack,) = receivers.slack.requests
    assert slack.path == "/services/T000/B000/slacksecretXYZ123"
    payload = slack.json()
    assert payload["text"].startswith("🔴 [ion-api] 롤백 시작")
    types = [b["type"] for b in payload["blocks"]]
    assert types[0] == "header" and "context" in types
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert "롤백: 카나리 에러율 10.0 %, 기존 0.0 %; 허용: 최대 1.0 %" in sections[0]  # the one plain sentence
    reasons = next(text for text in sections if text.startswith("•"))  # the why, one level down
    assert "에러율: 카나리 10%, 기존 0%, 기준 1% (3/3회 연속)" in reasons

    # Email: STARTTLS, login with the password from ${SMTP_PASSWORD}, plain text + HTML
    assert await wait_for(lambda: len(receivers.smtp.messages) == 1)
    assert receivers.smtp.logins == [(SMTP_USER, True)]
    rcpt, message = receivers.smtp.messages[0]
    assert rcpt == ["team@example.test"]
    assert message["Subject"].startswith("[canaria] [ion-api] 롤백 시작")
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "에러율: 카나리 10%" in plain and "<li>에러율: 카나리 10%" in html

    # SMS: the Twilio SDK, pointed at the local receiver through client.api.base_url
    (sms,) = receivers.twilio.requests
    assert sms.method == "POST" and sms.path == "/2010-04-01/Accounts/AC0123/Messages.json"
    form = sms.form()
    assert form["To"] == ["+821000000000"] and form["From"] == ["+15005550006"]
    assert "롤백 시작" in form["Body"][0] and "에러율" in form["Body"][0]
    assert sms.headers["authorization"].startswith("Basic ")

    # Webhook: JSON body signed with HMAC-SHA256 over the exact bytes
    (hook,) = receivers.webhook.requests
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["x-canaria-signature"], expected)
    body = hook.json()
    assert body["kind"] == "rollback_started" and body["severity"] == "critical" and body["lang"] == "ko"
    assert any("10%" in r for r in body["reasons"])

    # Apprise: json:// posts title + body to the receiver
    (other,) = receivers.apprise.requests
    assert other.path == "/apprise/apprisesecretQ77"
    assert "롤백 시작" in other.json()["title"] and "에러율" in other.json()["message"]

    # no secret in any log line (slack-sdk, twilio, apprise, smtplib included)
    for secret in SECRETS:
        assert secret not in caplog.text


async def test_escalation_contacts_replace_recipients(tmp_path: Path, receivers: Receivers) -> None:
    config = make_config(tmp_path, receivers)
    channels = create_channels(config.notify, Redactor([]))
    note = Renderer(config, lang="en", templates=TemplateSet()).build(
        rollback_event(), None, contacts=[Contact("lubit", "Lubit", email="lubit@naeda.test", phone="+821011111111",
                                                  slack="@lubit")])
    try:
        await channels["email"].send(note)
        await channels["sms"].send(note)
        await channels["slack"].send(note)
    finally:
        for channel in channels.values():
            await channel.close()
    assert await wait_for(lambda: len(receivers.smtp.messages) == 1)
    assert receivers.smtp.messages[0][0] == ["lubit@naeda.test"]
    assert receivers.twilio.requests[0].form()["To"] == ["+821011111111"]
    assert "@lubit" in receivers.slack.requests[0].body.decode()


async def test_send_test_reports_each_channel_and_hides_secrets(tmp_path: Path, receivers: Receivers) -> None:
    config = make_config(tmp_path, receivers, timeout="1s")
    receivers.webhook.status = 500  # one broken channel
    await receivers.apprise.stop()  # one unreachable channel
    results = {name: (ok, detail) for name, ok, detail in await send_test(config, "en")}
    assert set(results) == {"slack", "email", "sms", "hook", "other"}
    assert results["slack"][0] and results["email"][0] and results["sms"][0]
    assert results["hook"] == (False, "webhook hook: HTTP 500")
    assert not results["other"][0] and "url 1 of 1" in results["other"][1]
    blocks = receivers.slack.requests[0].json()["blocks"]
    assert any("channel “slack” works" in b.get("text", {}).get("text", "") for b in blocks)
    for _, detail in results.values():
        for secret in SECRETS:
            assert secret not in detail


async def test_wrong_smtp_password_fails_without_showing_it(tmp_path: Path, receivers: Receivers) -> None:
    config = make_config(tmp_path, receivers)
    wrong = "not-the-" + SMTP_PASSWORD
    email = config.notify.channels["email"]
    email.password = type(email.password)(wrong)  # type: ignore[union-attr,misc]
    results = {name: (ok, detail) for name, ok, detail in await send_test(config, "ko")}
    ok, detail = results["email"]
    assert not ok and "login refused (535)" in detail and wrong not in detail
    assert receivers.smtp.logins and all(login == (SMTP_USER, False) for login in receivers.smtp.logins)
