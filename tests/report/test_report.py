"""The deployment record of a rollout that rolled back: HTML opened in headless Chromium (charts present,
no network request, screenshot saved), Markdown with SVG files, JSON, and no secret anywhere."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canaria.config import CanariaConfig, parse_config
from canaria.controller.clock import FakeClock
from canaria.notify.dispatcher import NotifyDispatcher
from canaria.notify.event_text import event_text
from canaria.report import add_note, add_signoff, write_report
from canaria.report.charts import CHART_IDS
from canaria.report.record import match_item
from canaria.runtime.app import open_app
from canaria.state.store import Store
from tests.conftest import require_binary
from tests.fakes import FakeMetrics, FakePlatform, variant
from tests.hangul_font import check_hangul_fonts, platform_fonts_sync, require_hangul_font
from tests.notify.receivers import free_port

WEBHOOK_SECRET = "whsec-report-5b7c9d"
SMTP_PASSWORD = "smtp-report-pw-41x"
TWILIO_TOKEN = "twilio-report-tok-88"
SECRETS = (WEBHOOK_SECRET, SMTP_PASSWORD, TWILIO_TOKEN, "hooktoken-abc123")

CONFIG = """
service: ion-api
lang: {lang}
platform:
  stable: {{url: "http://127.0.0.1:1"}}
  canary: {{url: "http://127.0.0.1:2"}}
state_dir: {state}
analysis: {{interval: 5m, min_requests: 10}}
plan:
  stages:
    - {{traffic: 5, hold: 10m}}
    - {{traffic: 10, hold: 1h}}
    - {{traffic: 100}}
notify:
  timeout: 300ms
  retries: 0
  channels:
    hook: {{type: webhook, url: "http://127.0.0.1:{dead}/h/hooktoken-abc123", secret: "${{WEBHOOK_SECRET}}"}}
    email: {{type: email, host: 127.0.0.1, port: {dead}, username: u, password: "${{SMTP_PASSWORD}}", from: a@b.test,
             to: [c@d.test]}}
    sms: {{type: sms, account_sid: AC1, auth_token: "${{TWILIO_TOKEN}}", from: "+1500", to: ["+8210"],
           api_url: "http://127.0.0.1:{dead}"}}
"""


def rising_latency(weight: float, n: int):
    if n <= 4:
        return variant(300, memory=48.0, cpu=22.0), variant(60, memory=50.0, cpu=25.0)
    return variant(300, memory=48.0, cpu=22.0), variant(60, errors=3, latency_ms=100.0 + 40 * n, memory=60.0 + n,
                                                       cpu=30.0)


@dataclass
class Record:
    config: CanariaConfig
    rollout_id: str
    paths: list[Path]


async def _make_record(folder: Path, lang: str) -> Record:
    env = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "SMTP_PASSWORD": SMTP_PASSWORD, "TWILIO_TOKEN": TWILIO_TOKEN}
    config = parse_config(CONFIG.format(lang=lang, state=folder / "state", dead=free_port()), env=env)
    clock = FakeClock()
    app = open_app(config, clock=clock, platform=FakePlatform(), metrics=FakeMetrics(rising_latency))
    app.store.add_event("preflight", at=clock.now() - 120, data={"service": "ion-api", "checks": [
        {"name": "config", "ok": True, "detail": "canaria.yaml: valid"},
        {"name": "stable: GET /health", "ok": True, "detail": "200 in 4 ms"},
        {"name": "notify: hook", "ok": False, "detail": "webhook hook: ConnectError"}]})
    dispatcher = NotifyDispatcher(config, app.store, clock=clock)
    app.controller.sink = dispatcher
    rollout = await app.controller.run()
    assert rollout.outcome == "rolled_back"
    assert await dispatcher.drain(20)
    await dispatcher.aclose(1)
    add_note(app.store, rollout.id, "에러율 상승: DB 연결 풀 부족 — pool size 20 → 50", actor="sena", at=clock.now())
    add_signoff(app.store, rollout.id, ["1", "memory"], actor="lubit", at=clock.now() + 60)
    paths = write_report(config, app.store, rollout.id)
    await app.close()
    return Record(config, rollout.id, paths)


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Record:
    return asyncio.run(_make_record(tmp_path_factory.mktemp("record"), "ko"))


def test_files_are_written_under_reports_path(record: Record) -> None:
    html, md, js = record.paths
    folder = record.config.reports_path / record.rollout_id
    assert (html, md, js) == (folder / "report.html", folder / "report.md", folder / "report.json")
    for chart_id in CHART_IDS:
        svg = ET.parse(folder / "charts" / f"{chart_id}.svg").getroot()
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    text = md.read_text(encoding="utf-8")
    for chart_id in CHART_IDS:
        assert f"![{chart_id}](charts/{chart_id}.svg)" in text
    assert "롤백 완료" in text and "에러율 상승: DB 연결 풀 부족" in text
    assert "- [x] 배포 메트릭 수집 완료 — lubit" in text and "- [ ] 배포 성공 선언 — 미서명" in text


def test_json_record_has_stages_decisions_preflight_notes_and_signoff(record: Record) -> None:
    data = json.loads(record.paths[2].read_text(encoding="utf-8"))
    assert data["rollout"]["outcome"] == "rolled_back" and data["summary"]["rollback_reason"]
    assert [s["stage"] for s in data["stages"]] == [1, 2]
    assert data["stages"][0]["traffic"] == 5 and data["stages"][0]["canary"]["requests"] == 120
    assert [d["decision"] for d in data["decisions"]][-1] == "NO-GO"
    assert [c["ok"] for c in data["preflight"]["checks"]] == [True, True, False]
    assert data["notes"][0]["actor"] == "sena"
    signed = {s["key"]: s["actor"] for s in data["signoff"] if s["signed"]}
    assert signed == {"metrics_collected": "lubit", "memory_normal": "lubit"}
    assert {f["channel"] for f in data["notify_failures"]} == {"hook", "email", "sms"}


def test_no_secret_in_the_store_or_any_report_file(record: Record) -> None:
    folder = record.config.reports_path / record.rollout_id
    texts = [p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()]
    store = Store.for_state_dir(record.config.state_path)
    texts.append(json.dumps([e.to_dict() for e in store.events()], ensure_ascii=False))
    store.close()
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


_OVERLAPS_JS = """() => {
  const found = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const boxes = [...svg.querySelectorAll('g.marker text')].map(t => [t.textContent, t.getBBox()]);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      if (p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height)
        found.push(`${svg.id}: ${a} / ${b}`);
    }
  }
  return found;
}"""


_BROKEN_CELLS_JS = """() => [...document.querySelectorAll("td.n")].filter((td) => {
  const range = document.createRange();
  range.selectNodeContents(td);
  return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size > 1;
}).map((td) => td.textContent)"""
# a table wider than the page scrolls in its own box (never the page, never clipped)
_WIDE_TABLES_JS = """() => { const right = document.querySelector("main").getBoundingClientRect().right;
  const spilled = [...document.querySelectorAll("table")].filter((t) => t.parentElement.getBoundingClientRect().right
    > right + 1 || (t.getBoundingClientRect().right > right + 1 && getComputedStyle(t.parentElement).overflowX !== "auto"));
  return spilled.length + (document.documentElement.scrollWidth > window.innerWidth ? 1 : 0); }"""


def _events(record: Record) -> list:
    store = Store.for_state_dir(record.config.state_path)
    try:
        return store.events(record.rollout_id)
    finally:
        store.close()


def test_html_opens_offline_in_chromium_with_every_chart(record: Record, artifacts_dir: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    html = record.paths[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1120, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(html.as_uri(), wait_until="load")
            page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)
            page.locator("#chart-latency").screenshot(path=str(artifacts_dir / "report-latency.png"))
            assert requests == [html.as_uri()]
            assert page.locator("svg.chart").count() == len(CHART_IDS)
            for chart_id in CHART_IDS:
                box = page.locator(f"svg#{chart_id}").bounding_box()
                assert box is not None and box["width"] > 400 and box["height"] > 100
            assert page.locator("svg#traffic path").count() >= 1
            assert page.locator("svg#score g.marker").count() >= 2
            assert page.locator("svg#timeline g.event").count() >= 5
            page.locator("#chart-score").screenshot(path=str(artifacts_dir / "report-score.png"))
            # as drawn by Chromium: decision labels never overlap, time ticks carry units and do not repeat
            overlaps = page.evaluate(_OVERLAPS_JS)
            assert overlaps == [], overlaps
            for chart_id in CHART_IDS:
                ticks = page.eval_on_selector_all(f"svg#{chart_id} text", "els => els.map(e => e.textContent)")
                times = [text for text in ticks if text.startswith("+")]
                assert len(times) >= 2 and len(set(times)) == len(times), (chart_id, times)
                assert all(text.endswith((" s", " min")) for text in times), (chart_id, times)
            # table text: short figures (times, counts, ms) on one line, long text wraps within the page, none cut
            events = _events(record)
            longest = max((event_text(e, "ko").replace("\n", " ") for e in events), key=len)
            assert len(longest) > 300 and longest in page.inner_text("body")
            # every event in the reader's language: the controller's words are Korean, its English stays in JSON
            english_only = [e.message for e in events if e.text and event_text(e, "ko") != e.message]
            assert english_only and not any(m.replace("\n", " ") in page.inner_text("body") for m in english_only)
            assert "롤백 중: " in page.inner_text("body")
            # Hangul drawn with the CJK font the page names, in the text and in the SVG charts
            require_hangul_font()
            check_hangul_fonts(platform_fonts_sync(page, "h1"), "report title")
            check_hangul_fonts(platform_fonts_sync(page, "svg#timeline text"), "report chart label")
            for width in (1120, 640):
                page.set_viewport_size({"width": width, "height": 900})
                broken = page.evaluate(_BROKEN_CELLS_JS)
                assert broken == [], (width, broken)
                assert page.locator("td.n").count() >= 10
                assert page.evaluate(_WIDE_TABLES_JS) == 0, width
            page.set_viewport_size({"width": 1120, "height": 900})
            body = page.inner_text("body")
            assert "롤백 완료" in body and "사전 점검" in body and "✗ FAIL" in body
            assert "에러율 상승: DB 연결 풀 부족" in body and "lubit" in body
        finally:
            browser.close()


def test_english_record(tmp_path: Path) -> None:
    rec = asyncio.run(_make_record(tmp_path, "en"))
    text = rec.paths[0].read_text(encoding="utf-8")
    assert "Deployment record · ion-api" in text and "ROLLED BACK" in text and "Post-deploy checklist" in text


def test_checklist_items_match_by_number_key_or_label() -> None:
    assert match_item("1") == "metrics_collected"
    assert match_item("memory") == "memory_normal"
    assert match_item("인수") == "handover_done"
    assert match_item("success_declared") == "success_declared"
    assert match_item("rotated the on-call pager") is None


def test_cli_note_signoff_ack_report(record: Record, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from canaria.cli.notify import register as register_notify
    from canaria.cli.records import register as register_report

    app = typer.Typer()
    register_report(app)
    register_notify(app)
    cfg_file = tmp_path / "canaria.yaml"
    cfg_file.write_text(f"""service: ion-api
state_dir: {record.config.state_path}
report: {{dir: {tmp_path / "out"}}}
platform:
  stable: {{url: "http://127.0.0.1:1"}}
  canary: {{url: "http://127.0.0.1:2"}}
""")
    monkeypatch.setenv("CANARIA_ACTOR", "gitcode")
    runner = CliRunner()
    c = ["-c", str(cfg_file), "--lang", "en"]
    result = runner.invoke(app, ["note", "P95 rose after the cache flush", *c])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["signoff", "--item", "hand-over", "--item", "pager rotated", *c])
    assert result.exit_code == 0, result.output
    assert "☑ Hand-over to the monitoring team done — gitcode" in result.output
    assert "☑ pager rotated — gitcode" in result.output and "☐ Deployment success declared" in result.output
    result = runner.invoke(app, ["ack", record.rollout_id, "--note", "on it", *c])
    assert result.exit_code == 0 and "Acknowledged" in result.output
    result = runner.invoke(app, ["report", "--format", "json", "--stdout", *c])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert any(n["text"] == "P95 rose after the cache flush" and n["actor"] == "gitcode" for n in data["notes"])
    assert any(e["kind"] == "acknowledged" and e["actor"] == "gitcode" for e in data["events"])
    assert (tmp_path / "out" / record.rollout_id / "report.json").exists()
    result = runner.invoke(app, ["report", "nope-123", *c])
    assert result.exit_code == 2 and "unknown rollout nope-123" in result.output
    result = runner.invoke(app, ["report", "--format", "pdf", *c])
    assert result.exit_code == 2
