"""A whole rollout that rolls back, in-process (fake platform/metrics/clock), with the real dispatcher as
the controller's sink and real receivers for every channel: what arrived where, in which language,
signed how, how often, what escalated, and that a rollback never waits for a dead channel."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import time
from pathlib import Path

import pytest

from canaria.config import CanariaConfig
from canaria.controller.clock import FakeClock
from canaria.notify.dispatcher import NotifyDispatcher
from canaria.notify.escalation import acknowledge
from canaria.notify.sentence import display_severity
from canaria.notify.slack import STATE_CHANGES
from canaria.runtime.app import open_app
from tests.fakes import FakeMetrics, FakePlatform, variant
from tests.notify.conftest import SECRETS, WEBHOOK_SECRET, Receivers, make_config
from tests.notify.receivers import HttpReceiver, free_port, wait_for

PLAN = """
plan:
  stages:
    - {traffic: 5, hold: 10m}
    - {traffic: 10, hold: 1h}
    - {traffic: 50, hold: 1h}
    - {traffic: 100}
"""


def good_then_errors(weight: float, n: int):
    """Healthy for 6 checks, then 10% errors: OBSERVE (holding), GO (advance), OBSERVE, then NO-GO."""
    if n <= 6:
        return variant(200), variant(40)
    return variant(200), variant(40, errors=4)


def kinds_at(receiver: HttpReceiver) -> list[str]:
    return [r.headers.get("x-canaria-event", "") for r in receiver.requests]


def slack_titles(receiver: HttpReceiver) -> list[str]:
    return [r.json()["text"] for r in receiver.requests]


async def run_rollout(config: CanariaConfig, *, lang: str | None = None, fn=good_then_errors):
    clock = FakeClock()
    platform = FakePlatform()
    app = open_app(config, clock=clock, platform=platform, metrics=FakeMetrics(fn))
    dispatcher = NotifyDispatcher(config, app.store, clock=clock, lang=lang)
    app.controller.sink = dispatcher
    rollout = await app.controller.run()
    return app, dispatcher, rollout, clock, platform


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_rollback_reaches_the_right_channels_in_the_right_language(
        tmp_path: Path, receivers: Receivers, lang: str) -> None:
    config = make_config(tmp_path, receivers, lang=lang, extra=PLAN)
    app, dispatcher, rollout, _, _ = await run_rollout(config)
    try:
        assert rollout.outcome == "rolled_back"
        assert await dispatcher.drain(20)
        events = app.store.events(rollout.id)
        decisions = [e for e in events if e.kind == "decision"]
        verdicts = app.store.verdicts(rollout.id)
        # a decision to keep holding with nothing wrong is sent (and routed) as information, not a warning
        shown = {e.id: display_severity(e.kind, e.severity, e.data) for e in events}
        critical = [e for e in events if shown[e.id] == "critical" and e.kind in config.notify.events]
        warning = [e for e in events if shown[e.id] == "warning" and e.kind in config.notify.events]
        info = [e for e in events if shown[e.id] == "info" and e.kind in config.notify.events]
        assert critical and info  # this rollout holds normally (info) until it fails (critical)

        # webhook gets everything, signed; Slack everything; email warning+critical; SMS critical only
        hook_ids = [int(r.headers["x-canaria-delivery"]) for r in receivers.webhook.requests]
        for request in receivers.webhook.requests:
            expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(request.headers["x-canaria-signature"], expected)
        assert sorted(hook_ids) == sorted(e.id for e in critical + warning + info)
        hook_severity = {int(r.headers["x-canaria-delivery"]): r.json()["severity"] for r in receivers.webhook.requests}
        assert all(hook_severity[i] == shown[i] for i in hook_ids)
        # a Slack incoming webhook cannot edit a message: it gets state changes only
        assert len(receivers.slack.requests) == len([e for e in critical + warning + info if e.kind in STATE_CHANGES])
        assert await wait_for(lambda: len(receivers.smtp.messages) == len(critical + warning))
        subjects = sorted(m["X-Canaria-Severity"] for _, m in receivers.smtp.messages)
        assert subjects == sorted(["critical"] * len(critical) + ["warning"] * len(warning))
        assert len(receivers.twilio.requests) == len(critical)

        # one message per decision change, not one per tick
        assert len(verdicts) > len(decisions) >= 3
        decision_hooks = [r for r in receivers.webhook.requests if r.headers["x-canaria-event"] == "decision"]
        assert len(decision_hooks) == len(decisions)
        sent = [r.json()["data"]["decision"] for r in decision_hooks]
        assert all(a != b for a, b in itertools.pairwise(sent))

        # the text carries the reason and the measured values, in the configured language
        rollback_sms = [r.form()["Body"][0] for r in receivers.twilio.requests]
        rollback_mail = next(m for _, m in receivers.smtp.messages if m["X-Canaria-Event"] == "rollback_started")
        plain = rollback_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        slack = "\n".join(slack_titles(receivers.slack))
        if lang == "ko":
            assert any("롤백 시작" in body and "에러율: 카나리 10%, 기존 0%, 기준 1% (3/3회 연속)" in body
                       for body in rollback_sms)
            assert "에러율: 카나리 10%, 기존 0%, 기준 1% (3/3회 연속)" in plain
            assert "트래픽 분할: Control 90% · Treatment 10%" in plain
            assert "측정값 (최근 구간): 카나리 요청 40건 (기존 200건), 에러율 10%" in plain
            assert "[ion-api] 카나리 배포 시작" in slack and "상태 보고" not in slack  # webhook: state changes only
        else:
            assert any("ROLLBACK started" in body and "error rate: canary 10%, control 0%, limit 1% "
                       "(3/3 consecutive checks)" in body for body in rollback_sms)
            assert "error rate: canary 10%, control 0%, limit 1% (3/3 consecutive checks)" in plain
            assert "Traffic split: control 90% · canary 10%" in plain
            assert "Measured (last window): canary 40 req (control 200), errors 10%" in plain
            assert "[ion-api] Canary rollout started" in slack and "Status:" not in slack  # webhook: state changes only
            assert "Rolled back at 10 %" in plain  # the one plain sentence leads the e-mail
        assert not app.store.events(rollout.id, kinds=("notify_failed",))
    finally:
        await dispatcher.aclose(1)
        await app.close()


async def test_escalation_goes_to_the_next_level_until_acknowledged(tmp_path: Path, receivers: Receivers) -> None:
    escalation = """  escalation:
    levels:
      - {after: 10m, contacts: [lubit], channels: [sms, email]}
      - {after: 30m, contacts: [ops-lead], channels: [sms, slack]}
"""
    config = make_config(tmp_path, receivers, escalation=escalation)
    app, dispatcher, rollout, clock, _ = await run_rollout(config)
    try:
        assert await dispatcher.drain(20)
        first_sms = len(receivers.twilio.requests)
        numbers = [r.form()["To"][0] for r in receivers.twilio.requests]
        assert "+821011111111" not in numbers  # nobody escalated yet
        assert dispatcher.check_escalations() == []

        clock.advance(11 * 60)
        steps = dispatcher.check_escalations()
        assert [s.level for s in steps] == [1]
        assert dispatcher.check_escalations() == []  # once per level
        assert await dispatcher.drain(20)
        level1 = receivers.twilio.requests[first_sms:]
        assert [r.form()["To"][0] for r in level1] == ["+821011111111"]
        assert "ESCALATION (level 1)" in level1[0].form()["Body"][0]
        assert await wait_for(lambda: any(rcpt == ["lubit@naeda.test"] for rcpt, _ in receivers.smtp.messages))
        escalated = app.store.events(rollout.id, kinds=("escalated",))
        assert len(escalated) == 1 and escalated[0].data["contacts"] == ["lubit"]

        clock.advance(20 * 60)  # 31 minutes after the alert
        assert [s.level for s in dispatcher.check_escalations()] == [2]
        assert await dispatcher.drain(20)
        assert receivers.twilio.requests[-1].form()["To"] == ["+821022222222"]
        assert "@ops-lead" in receivers.slack.requests[-1].body.decode()

        ack = acknowledge(app.store, rollout_id=rollout.id, actor="lubit", at=clock.now())
        assert ack.kind == "acknowledged" and ack.actor == "lubit"
        clock.advance(3600)
        assert dispatcher.check_escalations() == []
    finally:
        await dispatcher.aclose(1)
        await app.close()


async def test_acknowledged_alert_does_not_escalate(tmp_path: Path, receivers: Receivers) -> None:
    escalation = """  escalation:
    levels:
      - {after: 10m, contacts: [lubit], channels: [sms]}
"""
    config = make_config(tmp_path, receivers, escalation=escalation)
    app, dispatcher, rollout, clock, _ = await run_rollout(config)
    try:
        clock.advance(5 * 60)
        acknowledge(app.store, rollout_id=rollout.id, actor="sena", at=clock.now(), note="looking at the logs")
        clock.advance(60 * 60)
        assert dispatcher.check_escalations() == []
        assert await dispatcher.drain(20)
        assert "+821011111111" not in [r.form()["To"][0] for r in receivers.twilio.requests]
    finally:
        await dispatcher.aclose(1)
        await app.close()


async def test_rollback_completes_on_time_while_every_channel_is_down(
        tmp_path: Path, receivers: Receivers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    blackholes = [await HttpReceiver(blackhole=True).start() for _ in range(3)]
    try:
        config = make_config(tmp_path, receivers, timeout="500ms")
        channels = config.notify.channels
        # Slack and the webhook accept connections and never answer; SMTP never sends its greeting;
        # Twilio and apprise refuse connections (nothing listens)
        channels["slack"].url = type(channels["slack"].url)(f"{blackholes[0].url}/services/T000/B000/slacksecretXYZ123")  # type: ignore[union-attr]
        channels["hook"].url = type(channels["hook"].url)(f"{blackholes[1].url}/hooks/canaria")  # type: ignore[union-attr]
        channels["email"].port = blackholes[2].port  # type: ignore[union-attr]
        channels["sms"].api_url = f"http://127.0.0.1:{free_port()}"  # type: ignore[union-attr]
        channels["other"].urls = [type(channels["hook"].url)(  # type: ignore[union-attr]
            f"json://127.0.0.1:{free_port()}/apprise/apprisesecretQ77")]

        started = time.monotonic()
        app, dispatcher, rollout, _, platform = await run_rollout(config)
        elapsed = time.monotonic() - started
        try:
            assert rollout.phase == "rolled_back" and platform.weight == 0 and "rollback" in platform.calls
            assert elapsed < 2.0, f"the rollout waited for dead channels ({elapsed:.2f} s)"

            # the failures are recorded (one event per message given up on), without secrets
            assert await dispatcher.drain(30)
            failed = app.store.events(rollout.id, kinds=("notify_failed",))
            assert {e.data["channel"] for e in failed} == {"slack", "email", "sms", "hook", "other"}
            assert all(e.severity == "warning" for e in failed)
            slack_error = next(e for e in failed if e.data["channel"] == "slack").data["error"]
            assert "timed out" in slack_error
            dump = json.dumps([e.to_dict() for e in app.store.events()], ensure_ascii=False)
            for secret in SECRETS:
                assert secret not in dump
                assert secret not in caplog.text  # canaria's and the SDKs' log lines
            assert "notification rollback_started to slack failed" in caplog.text
        finally:
            await dispatcher.aclose(1)
            await app.close()
    finally:
        for blackhole in blackholes:
            await blackhole.stop()
