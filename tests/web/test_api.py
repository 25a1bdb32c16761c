"""The control API in-process: auth (401/403), 404, 409 on illegal transitions, 422, and that an error
changes nothing while a good call acts through the Operator and records the caller's name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from canaria.config import CanariaConfig
from canaria.controller.actions import Operator
from canaria.controller.clock import FakeClock
from canaria.runtime.app import app_operator_factory
from canaria.state.store import Store
from canaria.web import create_app
from canaria.web.routes_actions import ACTIONS
from tests.web.helpers import (
    READ_TOKEN,
    TOKEN,
    make_config,
    open_fake_app,
    pause,
    rolled_back_rollout,
    rollout_at_gate,
    state_of,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def fake_factory(config: CanariaConfig):
    """Like the dashboard's own factory (a fresh app per action, as the caller), over fake backends."""

    @asynccontextmanager
    async def factory(name: str) -> AsyncIterator[Operator]:
        app = open_fake_app(config, clock=FakeClock(), actor=name)
        try:
            yield Operator(app.controller, actor=name)
        finally:
            await app.close()

    return factory


@asynccontextmanager
async def client_for(config: CanariaConfig, **options) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    store = Store.for_state_dir(config.state_path)
    options.setdefault("operator_factory", fake_factory(config))
    app = create_app(config, store=store, **options)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            yield client, store
    finally:
        store.close()


def body_for(action: str) -> dict:
    return {"reason": "checking"} if action in ("rollback",) else {}


async def test_every_action_without_or_with_a_bad_token_is_401_and_changes_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    async with client_for(config) as (client, store):
        before = state_of(store, rid)
        for action in ACTIONS:
            url = f"/api/v1/rollouts/{rid}/{action}"
            for headers, code in (({}, "token_required"), ({"Authorization": "Bearer wrong-token-123"}, "token_invalid"),
                                  ({"Authorization": TOKEN}, "token_malformed"),
                                  ({"Authorization": "Basic bHViaXQ6eA=="}, "token_malformed")):
                response = await client.post(url, json=body_for(action), headers=headers)
                assert response.status_code == 401, (action, headers, response.text)
                assert response.json()["error"]["code"] == code
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert state_of(store, rid) == before


async def test_read_only_token_cross_site_and_no_tokens_are_403(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    async with client_for(config) as (client, store):
        before = state_of(store, rid)
        r = await client.post(f"/api/v1/rollouts/{rid}/approve", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "read_only_token"
        r = await client.post(f"/api/v1/rollouts/{rid}/approve", headers={**AUTH, "Origin": "http://evil.example"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_origin"
        assert state_of(store, rid) == before
    async with client_for(config, tokens={}) as (client, store):
        r = await client.post(f"/api/v1/rollouts/{rid}/approve", headers=AUTH)
        assert r.status_code == 403 and r.json()["error"]["code"] == "actions_disabled"
        assert state_of(store, rid) == before


async def test_approve_at_the_gate_acts_through_the_operator_as_the_token_name(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    async with client_for(config) as (client, store):
        r = await client.post(f"/api/v1/rollouts/{rid}/approve", headers={**AUTH, "Origin": "http://127.0.0.1:8080"},
                              json={"reason": "final approver says GO"})
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["actor"] == "lubit" and data["changed"] is True
        assert data["rollout"]["traffic"] == 30 and data["status"]["phase"] == "progressing"
        approved = store.events(rid, kinds=("approved",))
        assert [(e.actor, e.message) for e in approved] == [("lubit", "final approver says GO")]
        assert store.events(rid, kinds=("stage_advanced",))[-1].actor == "lubit"
        # the same call again is now illegal: 409 and nothing changes
        before = state_of(store, rid)
        r = await client.post(f"/api/v1/rollouts/{rid}/approve", headers=AUTH)
        assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_in_phase"
        assert "approval gate" in r.json()["error"]["message"]
        assert state_of(store, rid) == before


async def test_pause_resume_promote_and_409s(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    async with client_for(config) as (client, store):
        before = state_of(store, rid)
        r = await client.post(f"/api/v1/rollouts/{rid}/resume", headers=AUTH)
        assert r.status_code == 409, r.text
        assert state_of(store, rid) == before
        r = await client.post(f"/api/v1/rollouts/{rid}/pause", headers=AUTH, json={"reason": "lunch"})
        assert r.status_code == 200 and r.json()["status"]["phase"] == "paused"
        r = await client.post(f"/api/v1/rollouts/{rid}/pause", headers=AUTH)
        assert r.status_code == 200 and r.json()["changed"] is False
        assert r.json()["texts"] == {"en": "already paused", "ko": "이미 일시 중지 상태입니다"}
        r = await client.post(f"/api/v1/rollouts/{rid}/resume", headers=AUTH)
        assert r.status_code == 200 and r.json()["status"]["phase"] == "awaiting_approval"
        assert r.json()["message"] == "resumed: awaiting_approval" and r.json()["texts"]["ko"] == "재개: 승인 대기"
        r = await client.post(f"/api/v1/rollouts/{rid}/promote", headers=AUTH)
        assert r.status_code == 200 and r.json()["rollout"]["traffic"] == 30
        kinds = [(e.kind, e.actor) for e in store.events(rid) if e.actor == "lubit"]
        assert ("paused", "lubit") in kinds and ("resumed", "lubit") in kinds and ("manual_promote", "lubit") in kinds


async def test_rollback_needs_a_reason_then_rolls_back_and_ended_rollouts_answer_409(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    async with client_for(config) as (client, store):
        before = state_of(store, rid)
        for body in (None, {}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 5},
                     {"reason": "ok", "force": True}):
            r = await client.post(f"/api/v1/rollouts/{rid}/rollback", headers=AUTH, json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["code"] == "invalid_input" and r.json()["error"]["details"]
        r = await client.post(f"/api/v1/rollouts/{rid}/rollback", headers=AUTH, content=b"{not json",
                              )
        assert r.status_code == 422
        assert state_of(store, rid) == before
        r = await client.post(f"/api/v1/rollouts/{rid}/rollback", headers=AUTH, json={"reason": "p95 looks odd"})
        assert r.status_code == 200, r.text
        assert r.json()["status"]["phase"] == "rolled_back"
        rollout = store.get_rollout(rid)
        assert rollout.reason == "p95 looks odd" and rollout.outcome == "aborted"
        assert store.events(rid, kinds=("rollback_started",))[-1].actor == "lubit"
        ended = state_of(store, rid)
        for action in ("approve", "promote", "pause", "resume", "rollback"):
            r = await client.post(f"/api/v1/rollouts/{rid}/{action}", headers=AUTH, json=body_for(action))
            assert r.status_code == 409 and r.json()["error"]["code"] == "not_active", action
        assert state_of(store, rid) == ended


async def test_unknown_rollout_is_404_for_reads_and_actions(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with client_for(config) as (client, _):
        for path in ("", "/windows", "/verdicts", "/events"):
            r = await client.get(f"/api/v1/rollouts/ion-api-00000000{path}")
            assert r.status_code == 404 and r.json()["error"]["code"] == "rollout_not_found"
        r = await client.post("/api/v1/rollouts/ion-api-00000000/approve", headers=AUTH)
        assert r.status_code == 404
        r = await client.get("/api/v1/rollouts/bad%20id")
        assert r.status_code == 422
        r = await client.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_ack_records_who_acknowledged_which_alert_once(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rolled_back_rollout(config)
    async with client_for(config) as (client, store):
        critical = store.events(rid, kinds=("rollback_finished",))[-1]
        r = await client.post(f"/api/v1/rollouts/{rid}/ack", headers=AUTH, json={"note": "on it"})
        assert r.status_code == 200 and r.json()["changed"] is True, r.text
        acks = store.events(rid, kinds=("acknowledged",))
        assert [(a.actor, a.data["event_id"], a.data["note"]) for a in acks] == [("lubit", critical.id, "on it")]
        r = await client.post(f"/api/v1/rollouts/{rid}/ack", headers=AUTH, json={"event_id": critical.id})
        assert r.status_code == 200 and r.json()["changed"] is False
        r = await client.post(f"/api/v1/rollouts/{rid}/ack", headers=AUTH, json={"event_id": 999_999})
        assert r.status_code == 404 and r.json()["error"]["code"] == "event_not_found"
        r = await client.post(f"/api/v1/rollouts/{rid}/ack", headers=AUTH, json={"event_id": 0})
        assert r.status_code == 422
        assert len(store.events(rid, kinds=("acknowledged",))) == 1


async def test_reads_return_the_status_windows_verdicts_and_events(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    old = await rolled_back_rollout(config)
    rid = await rollout_at_gate(config)
    async with client_for(config) as (client, store):
        current = (await client.get("/api/v1/rollouts/current")).json()
        assert current["rollout"]["rollout_id"] == rid
        assert current["status"]["phase"] == "awaiting_approval"
        assert current["status"]["traffic"] == {"control": 95.0, "canary": 5.0}
        assert len(current["windows"]) == len(store.windows(rid)) > 3
        window = current["windows"][-1]
        assert window["canary"]["custom"]["recommendation_latency_ms"] > 0 and window["canary"]["p95_ms"] > 0
        assert current["verdicts"][-1]["decision"] == "GO"
        listed = (await client.get("/api/v1/rollouts")).json()["rollouts"]
        assert [r["rollout_id"] for r in listed] == [rid, old]
        assert (await client.get(f"/api/v1/rollouts/{rid}/windows", params={"last": 2})).json()[0]["index"] == \
            len(current["windows"]) - 2
        events = (await client.get(f"/api/v1/rollouts/{rid}/events", params={"kind": "approval_needed"})).json()
        assert [e["kind"] for e in events] == ["approval_needed"]
        status = (await client.get("/api/v1/status")).json()
        assert status["rollout_id"] == rid and status["stage"]["number"] == 1
        info = (await client.get("/api/v1/info")).json()
        assert [s["traffic"] for s in info["stages"]] == [5, 30, 100] and info["auth"]["actions_enabled"]
        ko = (await client.get("/api/v1/i18n/ko")).json()
        assert ko["web.action.approve"] == "승인" and ko["phase.paused"]
        assert (await client.get("/api/v1/i18n/fr")).status_code == 422


async def test_reports_are_listed_linked_and_served_read_only(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rolled_back_rollout(config)
    reports = config.reports_path
    reports.mkdir(parents=True)
    (reports / f"{rid}.md").write_text("# record\n", encoding="utf-8")
    (reports / f"{rid}.html").write_text("<h1>record</h1>", encoding="utf-8")
    (reports / ".hidden.md").write_text("no", encoding="utf-8")
    (reports / "notes.exe").write_text("no", encoding="utf-8")
    (tmp_path / "secret.md").write_text("secret", encoding="utf-8")
    (reports / "link.md").symlink_to(tmp_path / "secret.md")
    async with client_for(config) as (client, _):
        listed = (await client.get("/api/v1/rollouts")).json()["rollouts"][0]["reports"]
        assert sorted(r["name"] for r in listed) == sorted([f"{rid}.md", f"{rid}.html"])
        html = await client.get(f"/reports/{rid}.html")
        assert html.status_code == 200 and html.text == "<h1>record</h1>"
        assert html.headers["content-security-policy"].startswith("sandbox")
        for bad in (".hidden.md", "notes.exe", "link.md", "../secret.md", "..%2Fsecret.md", "x/../../secret.md"):
            assert (await client.get(f"/reports/{bad}")).status_code in (404, 422), bad
        assert (await client.post(f"/reports/{rid}.md")).status_code == 405


async def test_read_token_required_protects_reads_and_signs_report_links(tmp_path: Path) -> None:
    config = make_config(tmp_path, extra="")
    rid = await rolled_back_rollout(config)
    config.reports_path.mkdir(parents=True)
    (config.reports_path / f"{rid}.md").write_text("# record\n", encoding="utf-8")
    async with client_for(config, read_token_required=True) as (client, _):
        assert (await client.get("/api/v1/rollouts")).status_code == 401
        assert (await client.get(f"/reports/{rid}.md")).status_code == 401
        assert (await client.get("/")).status_code == 200  # the page itself asks for the token
        viewer = {"Authorization": f"Bearer {READ_TOKEN}"}
        listed = (await client.get("/api/v1/rollouts", headers=viewer)).json()["rollouts"][0]["reports"]
        url = listed[0]["url"]
        assert "?ticket=" in url
        assert (await client.get(url)).text == "# record\n"
        assert (await client.get(url.replace(f"{rid}.md", "other.md"))).status_code in (401, 404)
        who = (await client.get("/api/v1/whoami", headers=viewer)).json()
        assert who == {"name": "viewer", "can_act": False}


async def test_the_standalone_factory_acts_like_the_cli(tmp_path: Path) -> None:
    """No fakes in the action path: `open_app` per request, as `canaria pause` does (pause needs no gateway)."""
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    store = Store.for_state_dir(config.state_path)
    app = create_app(config, store=store, operator_factory=app_operator_factory(config))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
            r = await client.post(f"/api/v1/rollouts/{rid}/pause", headers=AUTH, json={"reason": "hold on"})
            assert r.status_code == 200, r.text
        assert store.get_rollout(rid).phase == "paused"
        assert store.events(rid, kinds=("paused",))[-1].actor == "lubit"
    finally:
        store.close()


@pytest.mark.parametrize("yaml_tokens, message", [
    ("tokens: {lubit: short}", "shorter than 8"),
    ("tokens: {'bad name': long-enough-token}", "token name"),
    ("tokens: {a: same-secret-1, b: same-secret-1}", "same secret"),
    ("tokens: {a: secret-one-1}\n  read_tokens: {a: secret-two-2}", "both tokens and read_tokens"),
    ("listen: nowhere", "HOST:PORT"),
    ("tokens: {lubit: \"${TOKEN_UNSET_FOR_TEST}\"}", "TOKEN_UNSET_FOR_TEST is not set"),
])
def test_dashboard_config_errors_name_the_problem(tmp_path: Path, yaml_tokens: str, message: str) -> None:
    from canaria.config import parse_config
    from canaria.errors import ConfigError

    text = f"""
service: s
platform: {{stable: {{url: "http://127.0.0.1:1"}}, canary: {{url: "http://127.0.0.1:2"}}}}
dashboard:
  {yaml_tokens}
"""
    with pytest.raises(ConfigError, match=message):
        parse_config(text, env={})


def test_tokens_come_from_the_environment_and_never_print(tmp_path: Path) -> None:
    from canaria.config import parse_config

    text = """
service: s
platform: {stable: {url: "http://127.0.0.1:1"}, canary: {url: "http://127.0.0.1:2"}}
dashboard: {tokens: {lubit: "${TOKEN_LUBIT}"}, read_token_required: true}
"""
    config = parse_config(text, env={"TOKEN_LUBIT": "from-the-env-123"})
    assert config.dashboard.tokens["lubit"].get_secret_value() == "from-the-env-123"
    assert "from-the-env-123" not in repr(config) and "from-the-env-123" not in config.model_dump_json()
    assert config.dashboard.listen == "127.0.0.1:8080"


async def test_pause_by_someone_else_is_seen(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    await pause(config)
    async with client_for(config) as (client, _):
        assert (await client.get(f"/api/v1/rollouts/{rid}")).json()["status"]["phase"] == "paused"


async def test_a_dashboard_without_a_controller_refuses_actions(tmp_path: Path) -> None:
    """The library default (no operator factory): reads work, an action is a 409 that says why, nothing changes."""
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    store = Store.for_state_dir(config.state_path)
    app = create_app(config, store=store)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
            r = await client.post(f"/api/v1/rollouts/{rid}/pause", headers=AUTH, json={"reason": "hold on"})
            assert r.status_code == 409, r.text
            assert "without a controller" in r.text
        assert store.get_rollout(rid).phase != "paused"
    finally:
        store.close()
