"""Routing, dedup, rate limits, templates and config checks, with the null channel (no network needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.controller.clock import FakeClock
from canaria.errors import ConfigError
from canaria.notify.base import NullChannel, Redactor
from canaria.notify.dispatcher import NotifyDispatcher
from canaria.state.store import Event, Store
from tests.fakes import URL_SERVICE

BASE = URL_SERVICE + """notify:
  lang: en
{notify}
"""


def config_with(tmp_path: Path, notify: str):
    return parse_config(BASE.format(state=tmp_path / "state", notify=notify))


def dispatcher(tmp_path: Path, notify: str, names: dict[str, str], lang: str | None = None
               ) -> tuple[NotifyDispatcher, dict[str, NullChannel]]:
    config = config_with(tmp_path, notify)
    channels = {}
    for name, kind in names.items():
        channel = NullChannel(name)
        channel.type = kind
        channels[name] = channel
    clock = FakeClock()
    store = Store.for_state_dir(config.state_path)
    return NotifyDispatcher(config, store, clock=clock, channels=dict(channels), lang=lang), channels


def event(i: int, kind: str, severity: str = "info", message: str = "", **data: object) -> Event:
    return Event(i, "r1", 1_700_000_000.0 + i, kind, severity, "canaria", message or kind, dict(data))


async def test_default_routes_follow_the_runbook_by_channel_type(tmp_path: Path) -> None:
    d, ch = dispatcher(tmp_path, "", {"team": "slack", "mail": "email", "phone": "sms", "hook": "webhook"})
    await d.publish(event(1, "stage_advanced"), None)
    await d.publish(event(2, "approval_needed", "warning"), None)
    await d.publish(event(3, "rollback_started", "critical", reason="x"), None)
    await d.publish(event(4, "note"), None)  # not a notifiable kind
    assert await d.drain(5)
    assert [n.event_id for n in ch["team"].sent] == [1, 2, 3]
    assert [n.event_id for n in ch["mail"].sent] == [2, 3]
    assert [n.event_id for n in ch["phone"].sent] == [3]
    assert [n.event_id for n in ch["hook"].sent] == [1, 2, 3]
    await d.aclose(1)


async def test_custom_routes_by_name_and_kind(tmp_path: Path) -> None:
    notify = """  routes:
    - {severity: [info, warning, critical], kinds: [rollback_started, rollback_finished], channels: [oncall]}
    - {severity: critical, channels: [team]}
"""
    d, ch = dispatcher(tmp_path, notify, {"team": "slack", "oncall": "slack"})
    await d.publish(event(1, "rollback_started", "critical"), None)
    await d.publish(event(2, "controller_error", "critical", message="boom"), None)
    await d.publish(event(3, "stage_advanced"), None)
    assert await d.drain(5)
    assert [n.event_id for n in ch["oncall"].sent] == [1]
    assert [n.event_id for n in ch["team"].sent] == [1, 2]
    await d.aclose(1)


async def test_one_message_per_decision_change_and_no_repeats(tmp_path: Path) -> None:
    d, ch = dispatcher(tmp_path, "  dedup_window: 10m\n", {"team": "slack"})
    decisions = ["GO", "GO", "OBSERVE", "OBSERVE", "GO", "GO"]
    for i, decision in enumerate(decisions, 1):
        await d.publish(event(i, "decision", "info", decision=decision, score=90, reasons=[]), None)
    for i in range(10, 15):  # the same controller error every tick
        await d.publish(event(i, "controller_error", "critical", message="metrics provider unreachable"), None)
    assert await d.drain(5)
    sent = [(n.kind, n.data.get("decision")) for n in ch["team"].sent]
    assert sent == [("decision", "GO"), ("decision", "OBSERVE"), ("decision", "GO"), ("controller_error", None)]
    await d.aclose(1)


async def test_rate_limit_spares_critical_messages(tmp_path: Path) -> None:
    d, ch = dispatcher(tmp_path, "  rate_limit: {per_minute: 3}\n", {"team": "slack"})
    for i in range(1, 8):
        await d.publish(event(i, "status_report", "info", message=f"report {i}"), None)
    await d.publish(event(20, "rollback_started", "critical"), None)
    assert await d.drain(5)
    assert [n.event_id for n in ch["team"].sent] == [1, 2, 3, 20]
    await d.aclose(1)


async def test_user_templates_override_per_kind_and_language_with_fallback(tmp_path: Path) -> None:
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "rollback_started.text.ko.j2").write_text("롤백! {{ service }} {{ reasons | join('; ') }}\n")
    (templates / "sms.j2").write_text("SMS {{ title }}")
    (templates / "html.j2").write_text("<p>{{ title }}</p>")
    (templates / "stage_advanced.text.j2").write_text("{{ broken(")  # a syntax error: built-in used instead
    d, ch = dispatcher(tmp_path, f"  template_dir: {templates}\n", {"team": "slack"}, lang="ko")
    verdict = {"decision": "NO-GO", "score": 10, "reasons": [
        {"check": "memory_pct", "severity": "critical", "decision": "NO-GO", "message": "memory 91.0% > 85%",
         "key": "guardrail.breached", "params": {"metric": "memory_pct", "streak": 2, "consecutive": 2},
         "canary_value": 91.0, "control_value": 40.0, "threshold": 85.0, "evidence": ""}]}
    await d.publish(event(1, "rollback_started", "critical", reason="memory", verdict=verdict), None)
    await d.publish(event(2, "stage_advanced", traffic=10), None)
    assert await d.drain(5)
    rollback, stage = ch["team"].sent
    assert rollback.text == "롤백! ion-api 메모리: 카나리 91%, 기존 40%, 기준 85% (2/2회 연속)\n"
    assert rollback.short.startswith("SMS [ion-api] 롤백 시작")
    assert rollback.html.startswith("<p>[ion-api] 롤백 시작: 메모리: 카나리 91%")
    assert "[ion-api]" in stage.text and "broken" not in stage.text  # built-in template
    await d.aclose(1)


def test_config_rejects_unknown_escalation_contact(tmp_path: Path) -> None:
    notify = """  channels:
    team: {type: slack, url: "https://example.test/x"}
  escalation:
    levels:
      - {after: 10m, contacts: [nobody], channels: [team]}
"""
    with pytest.raises(ConfigError, match="unknown contact 'nobody'"):
        config_with(tmp_path, notify)


def test_secrets_come_from_env_and_never_print(tmp_path: Path) -> None:
    text = BASE.format(state=tmp_path / "s", notify="""  channels:
    hook: {type: webhook, url: "https://example.test/h/${HOOK_TOKEN}", secret: "${HOOK_SECRET}"}
""")
    config = parse_config(text, env={"HOOK_TOKEN": "tok-abcdef123", "HOOK_SECRET": "sec-987654"})
    shown = repr(config) + config.model_dump_json()
    assert "tok-abcdef123" not in shown and "sec-987654" not in shown
    redact = Redactor(config.notify.secret_values())
    assert redact("POST https://example.test/h/tok-abcdef123 failed (key sec-987654)") == "POST *** failed (key ***)"
    with pytest.raises(ConfigError, match="HOOK_SECRET"):
        parse_config(text, env={"HOOK_TOKEN": "x"})


async def test_escalation_timer_runs_by_itself_in_a_long_lived_process(tmp_path: Path) -> None:
    notify = """  channels:
    phone: {type: "null"}
  contacts:
    lubit: {phone: "+821011111111"}
  escalation:
    poll: 50ms
    levels:
      - {after: 10m, contacts: [lubit], channels: [phone]}
"""
    d, ch = dispatcher(tmp_path, notify, {"phone": "sms"})
    rollout = d.store.create_rollout(service="ion-api", now=d.clock.now(), plan={})
    alert = d.store.add_event("rollback_started", at=d.clock.now(), rollout_id=rollout.id, severity="critical",
                              data={"reason": "error rate"})
    await d.start()  # e.g. the dashboard after a restart: nothing was published in this process
    d.clock.advance(11 * 60)  # type: ignore[attr-defined]
    assert await wait_until(lambda: any(n.level == 1 for n in ch["phone"].sent))
    escalated = d.store.events(rollout.id, kinds=("escalated",))
    assert escalated[0].data["anchor_event_id"] == alert.id and escalated[0].data["contacts"] == ["lubit"]
    sent = next(n for n in ch["phone"].sent if n.level == 1)
    assert [c.phone for c in sent.contacts] == ["+821011111111"] and "ESCALATION (level 1)" in sent.short
    await d.aclose(1)


async def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return bool(predicate())
