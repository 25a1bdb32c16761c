"""Slack with a bot token against a local receiver speaking the Web API: one message per rollout, edited
in place (chat.update), every detail in its thread (thread_ts); an incoming webhook posts state changes only."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from canaria.config import parse_config
from canaria.controller.clock import FakeClock
from canaria.notify.dispatcher import NotifyDispatcher
from canaria.notify.slack import STATE_CHANGES
from canaria.runtime.app import open_app
from canaria.state.store import Store
from tests.fakes import FakeMetrics, FakePlatform
from tests.notify.conftest import BASE, Receivers
from tests.notify.receivers import HttpReceiver
from tests.notify.test_rollout_notify import PLAN, good_then_errors, run_rollout

TOKEN = "xoxb-test-0123456789-secret"
REPLY = json.dumps({"ok": True, "channel": "C0DEPLOYS", "ts": "1700000000.000100",
                    "message": {"text": "x"}}).encode()


def _params(body: bytes) -> dict[str, Any]:
    try:
        return dict(json.loads(body))
    except ValueError:
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def _bot_config(tmp_path: Path, api_url: str, **extra: str) -> Any:
    """A rollout notifying one Slack channel through the bot API at `api_url` (the local Web API receiver)."""
    more = "".join(f"\n      {key}: {value}" for key, value in extra.items())
    return parse_config(BASE.format(state=tmp_path / "state") + PLAN + f"""
notify:
  retries: 0
  channels:
    team:
      type: slack
      token: "{TOKEN}"
      channel: "#deploys"
      api_url: "{api_url}/api/"{more}
""")


async def test_one_message_per_rollout_edited_in_place(tmp_path: Path, receivers: Receivers) -> None:
    api = await HttpReceiver(reply=REPLY, content_type="application/json").start()
    try:
        config = _bot_config(tmp_path, api.url, dashboard_url="http://127.0.0.1:8080")
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


async def test_a_restarted_controller_edits_the_same_message(tmp_path: Path, receivers: Receivers) -> None:
    """kill -9 mid-rollout, then `canaria run` again: the new controller finds the message's channel and ts in
    the store and goes on editing it (one post for the whole rollout), its details in the same thread."""
    api = await HttpReceiver(reply=REPLY, content_type="application/json").start()
    try:
        config = _bot_config(tmp_path, api.url)
        clock = FakeClock()
        first = open_app(config, clock=clock, platform=FakePlatform(), metrics=FakeMetrics(good_then_errors))
        dispatcher = NotifyDispatcher(config, first.store, clock=clock)
        first.controller.sink = dispatcher
        rollout = await first.controller.run(max_ticks=3)
        assert rollout.active  # stopped mid-rollout, as a crash would leave it
        assert await dispatcher.drain(20)
        await dispatcher.aclose(1)
        await first.close()
        before = len(api.requests)

        later = FakeClock(start=clock.now())  # a new process: nothing of the first one's memory survives
        second = open_app(config, clock=later, platform=FakePlatform(), metrics=FakeMetrics(good_then_errors))
        dispatcher = NotifyDispatcher(config, second.store, clock=later)
        second.controller.sink = dispatcher
        rollout = await second.controller.run()
        assert rollout.outcome == "rolled_back"
        assert await dispatcher.drain(20)
        await dispatcher.aclose(1)
        await second.close()
    finally:
        await api.stop()
    calls = [(r.path.rsplit("/", 1)[-1], _params(r.body)) for r in api.requests]
    posts = [p for method, p in calls if method == "chat.postMessage" and "thread_ts" not in p]
    resumed = calls[before:]
    assert len(posts) == 1 and before >= 3 and len(resumed) >= 2  # both controllers spoke; one message in all
    assert any(method == "chat.update" for method, _ in resumed)
    assert all(p["ts"] == "1700000000.000100" and p["channel"] == "C0DEPLOYS" for m, p in resumed if m == "chat.update")
    assert all(p.get("thread_ts") == "1700000000.000100" for m, p in resumed if m == "chat.postMessage")


def test_the_store_remembers_chat_messages_and_migrates_an_older_database(tmp_path: Path) -> None:
    """A database written before events carried a text and chat messages were kept opens, keeps its rows,
    and gains both."""
    path = tmp_path / "canaria.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript("""
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT, at REAL NOT NULL,
                kind TEXT NOT NULL, severity TEXT NOT NULL DEFAULT 'info', actor TEXT NOT NULL DEFAULT 'canaria',
                message TEXT NOT NULL DEFAULT '', data_json TEXT NOT NULL DEFAULT '{}');
            INSERT INTO events (rollout_id, at, kind, message) VALUES ('r-1', 1.0, 'rollout_started', 'old words');
        """)
        conn.commit()
    store = Store(path)
    try:
        old = store.events("r-1")
        assert [(e.message, e.text) for e in old] == [("old words", None)]
        new = store.add_event("traffic_set", at=2.0, rollout_id="r-1", message="canary traffic set to 5%",
                              text={"key": "event.traffic_set", "params": {"traffic": "5"}})
        assert store.events("r-1")[-1].text == new.text == {"key": "event.traffic_set", "params": {"traffic": "5"}}
        assert store.chat_message("r-1", "team") is None
        store.save_chat_message("r-1", "team", conversation="C1", message_ts="1.1")
        store.save_chat_message("r-1", "team", conversation="C1", message_ts="2.2")  # a re-post replaces it
        assert store.chat_message("r-1", "team") == ("C1", "2.2")
    finally:
        store.close()
    with closing(Store(path)) as reopened:
        assert reopened.chat_message("r-1", "team") == ("C1", "2.2")  # and it is on disk
