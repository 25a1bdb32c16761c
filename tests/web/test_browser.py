"""The dashboard in Debian's chromium (Playwright), on a rollout the real Controller drives in the same
event loop with a real clock: live numbers change without a reload, Approve at the gate advances the stage,
Rollback rolls back, and without a token the buttons fail with a clear message and change nothing."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest

from canaria.web import DashboardServer, shared_operator_factory
from tests.conftest import require_binary
from tests.hangul_font import check_hangul_fonts, platform_fonts_async, require_hangul_font
from tests.web.helpers import TOKEN, make_config, open_fake_app, rolled_back_rollout

pytestmark = pytest.mark.integration

STAGES = """    - {traffic: 5, hold: 1.2s}
    - {traffic: 30, hold: 10m, approval: required}
    - {traffic: 100, hold: 0}"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


async def _click_action(page, action: str, *, token: str | None, reason: str = "") -> None:
    """Click a button, give the token if asked (None: asked and left empty), confirm with a reason."""
    await page.get_by_test_id(f"btn-{action}").click()
    if token is not None or await page.get_by_test_id("token-input").is_visible():
        await page.get_by_test_id("token-input").fill(token or "")
        await page.get_by_test_id("modal-ok").click()
    await page.get_by_test_id("reason-input").wait_for(state="visible")
    await page.get_by_test_id("reason-input").fill(reason)
    await page.get_by_test_id("modal-ok").click()


async def test_dashboard_in_a_real_browser(tmp_path: Path, artifacts_dir: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.async_api import async_playwright, expect

    config = make_config(tmp_path, stages=STAGES, interval="0.3s")
    past = await rolled_back_rollout(config)  # history, with a report to link to
    config.reports_path.mkdir(parents=True)
    (config.reports_path / f"{past}.md").write_text(f"# Deployment record {past}\n", encoding="utf-8")

    app = open_fake_app(config)  # real SystemClock: the controller ticks every 0.3 s
    run = asyncio.create_task(app.controller.run())
    server = DashboardServer(config, listen="127.0.0.1:0", store=app.store, poll_interval=0.2,
                             operator_factory=shared_operator_factory(app.controller))
    url = await server.start()
    shots = artifacts_dir
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1440, "height": 1900})
                console_errors: list[str] = []
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: console_errors.append(str(e)))
                await page.goto(url)
                await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
                load_id = await page.evaluate("window.__canariaLoadId")

                # the split and live numbers, changing without a reload
                await expect(page.get_by_test_id("split-canary")).to_have_text("5%")
                await expect(page.get_by_test_id("split-control")).to_have_text("95%")
                total = page.get_by_test_id("live-canary-total")
                await expect(total).not_to_have_text("–")
                first_total = await total.text_content()
                first_p95 = await page.get_by_test_id("live-canary-p95").text_content()
                await expect(total).not_to_have_text(first_total or "", timeout=5000)
                assert int(await total.text_content() or 0) > int(first_total or 0)
                await expect(page.get_by_test_id("live-canary-p95")).to_contain_text(" ms")
                # the verdict card leads with the same one plain sentence as the terminal
                await expect(page.get_by_test_id("verdict-sentence")).to_contain_text(" %", timeout=10000)
                await expect(page.get_by_test_id("custom-metric")).to_have_value("recommendation_latency_ms")
                assert await page.locator("#chart-latency path.line").count() == 6
                assert await page.locator("#chart-errors path.line").count() == 2
                assert first_p95
                # the charts: no tick label twice, the latency axis follows the data, one time format everywhere;
                # first a span long enough for two time labels (a second of 0.3 s windows may have only one)
                await page.wait_for_function("""() => [...document.querySelectorAll("svg.chart")].every((svg) => {
                    const ticks = svg.querySelectorAll("text.x-tick").length; return ticks === 0 || ticks >= 2; })""",
                                             timeout=10000)
                axes, latency_top = await page.evaluate("""() => [
                    [...document.querySelectorAll("svg.chart")].map((svg) => ({
                        id: svg.id, y: [...svg.querySelectorAll("text.y-tick")].map((n) => n.textContent),
                        x: [...svg.querySelectorAll("text.x-tick")].map((n) => n.textContent),
                        yMax: Number(svg.dataset.yMax || "nan")})),
                    Math.max(...S.snap.windows.flatMap((w) => ["control", "canary"].flatMap((v) =>
                        ["p50_ms", "p95_ms", "p99_ms"].map((q) => w[v][q] || 0))))]""")
                for axis in axes:
                    if axis["x"]:
                        assert _unique(axis["y"]) and _unique(axis["x"]), axis
                latency_axis = next(a for a in axes if a["id"] == "chart-latency")["yMax"]
                assert latency_top <= latency_axis <= 2 * latency_top, (latency_top, latency_axis)
                times = await page.evaluate("""() => [...document.querySelectorAll(
                    "#next-check, #started, #events time, text.x-tick")].map((n) => n.textContent).filter((t) => t !== "–")""")
                assert times and all(re.fullmatch(r"\d\d:\d\d:\d\d", t) for t in times), times
                await page.screenshot(path=str(shots / "web-01-live.png"), full_page=True)

                # the approval gate
                phase = page.get_by_test_id("phase")
                await expect(phase).to_have_attribute("data-phase", "awaiting_approval", timeout=15000)
                await expect(page.get_by_test_id("btn-approve")).to_have_class("act suggested")
                rid = app.controller.active().id
                await page.screenshot(path=str(shots / "web-02-approval-gate.png"), full_page=True)

                # without a token: a clear message, nothing changes
                await _click_action(page, "approve", token=None)
                message = page.get_by_test_id("message")
                await expect(message).to_contain_text("A token is required")
                await expect(message).to_contain_text("Nothing was changed")
                await expect(message).to_have_attribute("data-kind", "error")
                assert app.store.get_rollout(rid).phase == "awaiting_approval"
                assert not app.store.events(rid, kinds=("approved",))
                await page.screenshot(path=str(shots / "web-03-no-token.png"), full_page=True)
                await page.get_by_test_id("message").evaluate("node => { node.textContent = ''; }")
                await _click_action(page, "rollback", token=None, reason="no token, no rollback")
                await expect(message).to_contain_text("A token is required")
                assert app.store.get_rollout(rid).phase == "awaiting_approval"
                assert not app.store.events(rid, kinds=("rollback_started",))
                # a wrong token: rejected, nothing changes
                await _click_action(page, "approve", token="not-the-token-123")
                await expect(message).to_contain_text("The token was rejected")
                assert app.store.get_rollout(rid).phase == "awaiting_approval"

                # Approve with the token advances the stage, recorded as lubit
                await _click_action(page, "approve", token=TOKEN, reason="final approver: GO")
                await expect(message).to_contain_text("done by lubit")
                await expect(page.get_by_test_id("split-canary")).to_have_text("30%")
                await expect(phase).to_have_attribute("data-phase", "progressing")
                await expect(page.get_by_test_id("stage")).to_contain_text("2 of 3")
                approved = app.store.events(rid, kinds=("approved",))
                assert [(e.actor, e.message) for e in approved] == [("lubit", "final approver: GO")]
                await expect(page.get_by_test_id("who")).to_contain_text("lubit")
                await expect(page.get_by_test_id("events").locator("li[data-kind=approved]")).to_have_count(1)
                await page.screenshot(path=str(shots / "web-04-approved.png"), full_page=True)

                # buttons are offered only when they apply to the phase
                for action, enabled in (("approve", False), ("resume", False), ("promote", True), ("pause", True),
                                        ("rollback", True)):
                    button = page.get_by_test_id(f"btn-{action}")
                    await (expect(button).to_be_enabled() if enabled else expect(button).to_be_disabled())
                # an illegal action sent anyway: 409, nothing changes
                before = app.store.get_rollout(rid)
                status = await page.evaluate("""async (rid) => (await fetch(`/api/v1/rollouts/${rid}/resume`, {
                    method: "POST", headers: {"Content-Type": "application/json",
                    Authorization: "Bearer " + sessionStorage.getItem("canaria.token")}, body: "{}"})).status""", rid)
                assert status == 409
                after = app.store.get_rollout(rid)
                assert (after.phase, after.traffic) == (before.phase, before.traffic) == ("progressing", 30)

                # Rollback rolls back and the page shows it
                await _click_action(page, "rollback", token=None, reason="P95 creeping up")
                await expect(phase).to_have_attribute("data-phase", "rolled_back")
                await expect(page.get_by_test_id("split-canary")).to_have_text("0%")
                await expect(page.get_by_test_id("btn-rollback")).to_be_disabled()
                final = app.store.get_rollout(rid)
                assert (final.phase, final.reason, final.outcome) == ("rolled_back", "P95 creeping up", "aborted")
                assert app.store.events(rid, kinds=("rollback_started",))[-1].actor == "lubit"
                await expect(page.get_by_test_id("events").locator("li[data-kind=rollback_finished]")).to_have_count(1)
                banner = page.get_by_test_id("banner")
                await expect(banner).to_be_visible()
                await expect(banner).to_contain_text("Rolled back")
                await expect(banner).to_contain_text("P95 creeping up")
                for action in ("approve", "promote", "pause", "resume", "rollback"):
                    await expect(page.get_by_test_id(f"btn-{action}")).to_be_disabled()

                # a phone: 390 px wide, nothing scrolls sideways
                await page.set_viewport_size({"width": 390, "height": 844})
                await page.wait_for_timeout(300)
                overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                await page.screenshot(path=str(shots / "web-05b-phone.png"), full_page=True)
                assert overflow <= 0, f"{overflow}px of horizontal scroll at 390 px"
                await page.set_viewport_size({"width": 1440, "height": 1900})

                # history with links to the reports
                history = page.get_by_test_id("history")
                await expect(history.locator("tbody tr")).to_have_count(2)
                link = history.locator(f"a[href='/reports/{past}.md']")
                await expect(link).to_have_count(1)
                started_cells = await history.locator("tbody tr td:nth-child(2)").all_text_contents()
                assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", c) for c in started_cells), started_cells
                report = await page.request.get(url.rstrip("/") + f"/reports/{past}.md")
                assert report.ok and f"Deployment record {past}" in await report.text()
                await page.screenshot(path=str(shots / "web-05-rolled-back.png"), full_page=True)

                # Korean
                await page.click("#lang-ko")
                await expect(page.get_by_test_id("btn-approve")).to_have_text("승인")
                await expect(phase).to_have_text("롤백 완료")
                # the event list speaks Korean too (the controller's words rendered from their keys)
                events = page.locator("#events li[data-kind='rollout_started'] span")
                await expect(events.first).to_contain_text("카나리 배포를 시작했습니다")
                await expect(page.locator("#events li[data-kind='stage_advanced'] span").first) \
                    .to_contain_text("카나리 트래픽")
                await page.screenshot(path=str(shots / "web-06-korean.png"), full_page=True)
                require_hangul_font()
                check_hangul_fonts(await platform_fonts_async(page, "[data-testid=btn-approve]"), "dashboard button")
                check_hangul_fonts(await platform_fonts_async(page, "[data-testid=phase]"), "dashboard phase")

                assert await page.evaluate("window.__canariaLoadId") == load_id  # never reloaded
                assert not [e for e in console_errors if "401" not in e and "409" not in e], console_errors
            finally:
                await browser.close()
    finally:
        await server.stop()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run
        await app.close()


async def test_a_read_protected_dashboard_asks_for_a_token_first(tmp_path: Path, artifacts_dir: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.async_api import async_playwright, expect

    from tests.web.helpers import READ_TOKEN

    config = make_config(tmp_path)
    past = await rolled_back_rollout(config)
    config.reports_path.mkdir(parents=True)
    (config.reports_path / f"{past}.md").write_text("# the record\n", encoding="utf-8")
    async with DashboardServer(config, listen="127.0.0.1:0", read_token_required=True) as server, \
            async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(server.url)
            await expect(page.get_by_test_id("token-input")).to_be_visible()
            await expect(page.get_by_test_id("phase")).to_have_text("–")  # nothing shown before the token
            await page.get_by_test_id("token-input").fill(READ_TOKEN)
            await page.get_by_test_id("modal-ok").click()
            await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
            await expect(page.get_by_test_id("phase")).to_have_attribute("data-phase", "rolled_back")
            link = page.get_by_test_id("history").locator("a").first
            href = await link.get_attribute("href")
            assert href and "?ticket=" in href  # a plain link works without the header, for 10 minutes
            report = await page.request.get(server.url.rstrip("/") + href)
            assert await report.text() == "# the record\n"
            assert (await page.request.get(server.url + f"reports/{past}.md")).status == 401
            await page.screenshot(path=str(artifacts_dir / "web-07-read-protected.png"))
        finally:
            await browser.close()


CHARTS_JS = Path(__file__).resolve().parents[2] / "src" / "canaria" / "web" / "static" / "charts.js"
_DRAW = """([series, thresholds, fitData]) => {
    document.body.innerHTML = '<svg id="c" viewBox="0 0 600 230"></svg>';
    const svg = document.getElementById("c");
    CanariaCharts.lineChart(svg, { series: series.map((points, i) => ({ name: "s" + i, cls: "q95", points })),
                                   thresholds, fitData });
    const texts = (sel) => [...svg.querySelectorAll(sel)].map((n) => n.textContent);
    return { yMax: Number(svg.dataset.yMax), y: texts("text.y-tick"), x: texts("text.x-tick"),
             above: texts("text.threshold-label.above") };
}"""


def _unique(labels: list[str]) -> bool:
    return len(labels) >= 2 and len(set(labels)) == len(labels)


async def test_chart_axes_fit_the_data_and_never_repeat_a_tick(tmp_path: Path) -> None:
    """Drawn by the dashboard's own charts.js: a 500 ms guardrail over 20–40 ms responses must not flatten the
    lines (the axis follows the data, the guardrail is noted above it); a demo's seconds-long span and an
    all-zero error rate must not print the same tick label twice; one HH:MM:SS format on the time axis."""
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.async_api import async_playwright

    t0 = 1_764_620_000.0
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.add_script_tag(path=str(CHARTS_JS))
            latency = [[t0 + 0.3 * k, 20.0 + k] for k in range(20)]  # 6 s of windows, 20 → 39 ms
            drawn = await page.evaluate(_DRAW, [[latency], [{"y": 500, "label": "NO-GO > 500"}], True])
            assert 39.0 <= drawn["yMax"] <= 2 * 39.0, drawn
            assert drawn["above"] == ["NO-GO > 500 ↑"]
            assert _unique(drawn["y"]) and _unique(drawn["x"]), drawn
            assert all(len(label) == 8 and label[2] == label[5] == ":" for label in drawn["x"]), drawn
            # a threshold near the data joins the scale and is drawn as a line
            near = await page.evaluate(_DRAW, [[latency], [{"y": 45, "label": "NO-GO > 45"}], True])
            assert 45.0 <= near["yMax"] <= 2 * 39.0 and near["above"] == [], near
            # without fitData (the error-rate chart) the guardrail stays on the scale
            kept = await page.evaluate(_DRAW, [[latency], [{"y": 500, "label": "NO-GO > 500"}], False])
            assert 500.0 <= kept["yMax"] <= 2 * 500.0 and kept["above"] == [], kept
            zeros = [[t0 + 0.5 * k, 0.0] for k in range(4)]  # 1.5 s, nothing failing
            flat = await page.evaluate(_DRAW, [[zeros], [], False])
            assert _unique(flat["y"]) and _unique(flat["x"]), flat
            tiny = [[t0 + k, 0.001 * k] for k in range(3)]
            small = await page.evaluate(_DRAW, [[tiny], [], False])
            assert _unique(small["y"]) and small["yMax"] <= 2 * 0.002, small
            hours = [[t0 + 600.0 * k, 100.0 + k] for k in range(30)]  # ~5 h
            long = await page.evaluate(_DRAW, [[hours], [], False])
            assert _unique(long["x"]) and 2 <= len(long["x"]) <= 6, long
        finally:
            await browser.close()
