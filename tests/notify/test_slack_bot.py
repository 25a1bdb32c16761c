"""Slack with a bot token against a local receiver speaking the Web API: one message per rollout, edited
in place (chat.update), every detail in its thread (thread_ts); an incoming webhook posts state changes only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from canaria.config import parse_config
from canaria.notify.slack import STATE_CHANGES
from tests.notify.conftest import BASE, Receivers
from tests.notify.receivers import HttpReceiver
from tests.notify.test_rollout_notify import PLAN, run_rollout

TOKEN = "xoxb-test-0123456789-secret"
REPLY = json.dumps({"ok": True, "channel": "C0DEPLOYS", "ts": "1700000000.000100",
                    "message": {"text": "x"}}).encode()


def _params(body: bytes) -> dict[str, Any]:
    try:
        return dict(json.loads(body))
    except ValueError:
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}


async def test_one_message_per_rollout_edited_in_place(tmp_path: Path, receivers: Receivers) -> None:
    api = await HttpReceiver(reply=REPLY, content_type="application/json").start()
    try:
        text = BASE.format(state=tmp_path / "state") + PLAN + f"""
notify:
  retries: 0
  channels:
    team:
      type: slack
      token: "{TOKEN}"
      channel: "#deploys"
      api_url: "{api.url}/api/"
      dashboard_url: http://127.0.0.1:8080
"""
        config = parse_config(text)
        app, dispatcher, rollout, _, _ = await run_rollout(config)
        assert rollout.outcome == "rolled_back"
        assert await dispatcher.drain(20)
        await dispatcher.aclose(1)
        await app.close()
    finally:
        await api.stop()
    calls = [(r.path.rsplit("/", 1)[-1], _params(r.body), r.headers) for r in api.requests]
    assert calls and all(h.get("authorization") == f"Bearer {TOKEN}" for _, _, h in calls)
    posts = [p for method, p, _ in calls if method == "chat.postMessage" and "thread_ts" not in p]
    updates = [p for method, p, _ in calls if method == "chat.update"]
    replies = [p for method, p, _ in calls if method == "chat.postMessage" and "thread_ts" in p]
    assert len(posts) == 1 and posts[0]["channel"] == "#deploys"  # one message for the whole rollout
    assert len(updates) == len(replies) == (len(calls) - 1) // 2 >= 3  # each later event: one edit, one reply
    assert all(u["ts"] == "1700000000.000100" and u["channel"] == "C0DEPLOYS" for u in updates)
    assert all(r["thread_ts"] == "1700000000.000100" for r in replies)
    assert "http://127.0.0.1:8080" in json.dumps(updates[-1]["blocks"])
    assert any("Rolled back at" in json.dumps(u) for u in updates)  # the plain sentence, in the message itself
    assert any(r.get("reply_broadcast") is True for r in replies)  # a rollback reaches the channel


async def test_an_incoming_webhook_posts_state_changes_only(tmp_path: Path, receivers: Receivers) -> None:
    text = BASE.format(state=tmp_path / "state") + PLAN + f"""
notify:
  retries: 0
  channels:
    hook: {{type: slack, url: "{receivers.slack.url}/services/T0/B0/x"}}
"""
    config = parse_config(text)
    app, dispatcher, rollout, _, _ = await run_rollout(config)
    assert await dispatcher.drain(20)
    events = [e for e in app.store.events(rollout.id) if e.kind in config.notify.events]
    await dispatcher.aclose(1)
    await app.close()
    changes = [e for e in events if e.kind in STATE_CHANGES]
    assert len(receivers.slack.requests) == len(changes) < len(events)
