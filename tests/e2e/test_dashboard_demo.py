"""Issue 6 against the REAL demo: `canaria demo --dashboard` as a subprocess (gateway, both versions of the
sample service, load), its page driven in Debian's chromium.

Why a subprocess and not the in-process fakes of tests/web: this is what a person runs on deployment day;
it proves the printed URL and token work, the demo waits at the approval gate for a click, the clicks act on
the demo's own controller, the exit code and JSON follow from what was clicked, and nothing is left running.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

import canaria
from canaria.platforms.processes import free_port
from tests.conftest import require_binary

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DASHBOARD_LINE = re.compile(r"dashboard: (http://\S+)\s+\(token for actions: (\S+)\)")
OURS = ("canaria.demo.service", "canaria.gateway")
SRC = Path(canaria.__file__).resolve().parent.parent  # this worktree's src, whatever the cwd


def command_line(process: psutil.Process) -> str:
    """The command line of a live process; "" once it has ended (a zombie has ended too)."""
    try:
        if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
            return " ".join(process.cmdline())
    except psutil.Error:
        pass
    return ""


class DemoProcess:
    """`python -m canaria demo --dashboard --json` with stderr read line by line in a thread."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.listen = f"127.0.0.1:{free_port()}"
        self.stdout_path = workdir / "demo-stdout.txt"
        self.lines: list[str] = []
        self._dashboard: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: dict[int, psutil.Process] = {}
        env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "160",
               "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        with open(self.stdout_path, "w", encoding="utf-8") as out:
            # cwd: the demo writes its reports under ./.canaria — keep them out of the repo
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "canaria", "demo", "--dashboard", "--listen", self.listen, "--json", *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                errors="replace", env=env, cwd=workdir)
        self._reader = threading.Thread(target=self._read, name="demo-stderr", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            found = DASHBOARD_LINE.search(line)
            if found:
                self._dashboard.put((found.group(1), found.group(2)))

    def stderr_tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    def dashboard(self, timeout: float = 30.0) -> tuple[str, str]:
        try:
            return self._dashboard.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no dashboard line within {timeout:g} s:\n{self.stderr_tail()}") from None

    def remember_children(self) -> list[str]:
        """Note every process the demo has started so far (they must all be gone at the end)."""
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
        return [cmd for cmd in map(command_line, self.seen.values()) if cmd]

    def leftovers(self, grace: float = 10.0) -> list[str]:
        """Command lines of remembered children still alive after `grace` seconds (zombies count as gone)."""
        deadline = time.monotonic() + grace
        while True:
            alive = [cmd for cmd in map(command_line, self.seen.values()) if cmd]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the demo did not exit within {timeout:g} s:\n{self.stderr_tail()}") from None

    def final_json(self) -> dict[str, Any]:
        lines = self.stdout_path.read_text(encoding="utf-8").strip().splitlines()
        assert lines, f"no JSON on stdout:\n{self.stderr_tail()}"
        return json.loads(lines[-1])

    def stop(self) -> None:
        """SIGINT (the demo cleans up), then SIGKILL; then kill what it left behind (ours: we started it)."""
        self.remember_children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        for p in self.seen.values():
            try:
                p.kill()
            except psutil.Error:
                pass


@pytest.fixture
def start_demo(tmp_path: Path) -> Iterator[Any]:
    started: list[DemoProcess] = []

    def start(*args: str) -> DemoProcess:
        demo = DemoProcess(tmp_path, *args)
        started.append(demo)
        return demo

    try:
        yield start
    finally:
        for demo in started:
            demo.stop()


def status(url: str) -> dict[str, Any]:
    response = httpx.get(url + "api/v1/status", timeout=5)
    response.raise_for_status()
    return response.json()


def event_kinds(url: str, rollout_id: str) -> list[str]:
    response = httpx.get(url + f"api/v1/rollouts/{rollout_id}", timeout=5)
    response.raise_for_status()
    return [e["kind"] for e in response.json()["events"]]


def launch(pw: Any, chromium: str) -> Any:
    return pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)


def click_action(page: Any, action: str, *, token: str | None, reason: str) -> None:
    """Click a button; when the page asks for the token, give `token` ('' = leave it empty); confirm."""
    page.get_by_test_id(f"btn-{action}").click()
    modal_title = page.locator("#modal-title")
    if token is not None:
        page.get_by_test_id("token-input").wait_for(state="visible")
        page.get_by_test_id("token-input").fill(token)
        page.get_by_test_id("modal-ok").click()
    page.get_by_test_id("reason-input").wait_for(state="visible")
    assert "?" in (modal_title.text_content() or "")  # the confirmation, not the token prompt
    page.get_by_test_id("reason-input").fill(reason)
    page.get_by_test_id("modal-ok").click()


def test_dashboard_on_the_real_demo_approve_then_roll_back(start_demo: Any, artifacts_dir: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    demo: DemoProcess = start_demo("--scenario", "good")
    url, token = demo.dashboard()
    assert url == f"http://{demo.listen}/" and len(token) >= 12

    with sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1900})

            def shot(name: str) -> None:
                page.screenshot(path=str(artifacts_dir / f"demo-dashboard-{name}.png"), full_page=True)

            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(url)
            expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live", timeout=10_000)
            load_id = page.evaluate("window.__canariaLoadId")

            # the first stage: 95/5, and live numbers from the real gateway that change without a reload
            expect(page.get_by_test_id("split-canary")).to_have_text("5%", timeout=30_000)
            expect(page.get_by_test_id("split-control")).to_have_text("95%")
            expect(page.get_by_test_id("stage")).to_contain_text("1 of 4")
            total, control_total = page.get_by_test_id("live-canary-total"), page.get_by_test_id("live-control-total")
            expect(total).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=15_000)
            first = (int(total.text_content() or 0), int(control_total.text_content() or 0))
            window = page.get_by_test_id("window-info").text_content() or ""
            expect(page.get_by_test_id("window-info")).not_to_have_text(window, timeout=10_000)
            expect(total).not_to_have_text(str(first[0]), timeout=10_000)
            later = (int(total.text_content() or 0), int(control_total.text_content() or 0))
            assert later[0] > first[0] and later[1] > first[1], (first, later)
            assert later[1] > 5 * later[0]  # ~95/5 of real requests through the gateway
            expect(page.get_by_test_id("live-canary-p95")).to_contain_text(" ms")
            demo.remember_children()
            shot("01-live")

            # the 50% approval gate: with --dashboard the demo waits for a click
            phase = page.get_by_test_id("phase")
            expect(phase).to_have_attribute("data-phase", "awaiting_approval", timeout=45_000)
            expect(page.get_by_test_id("split-canary")).to_have_text("10%")
            expect(page.get_by_test_id("btn-approve")).to_have_class(re.compile(r"\bsuggested\b"))
            expect(page.get_by_test_id("hold-left")).to_have_text("waiting for the final approver")
            at_gate = status(url)
            rid = at_gate["rollout_id"]
            assert (at_gate["phase"], at_gate["traffic"]["canary"], at_gate["stage"]["index"]) == (
                "awaiting_approval", 10.0, 1)
            assert sum(any(o in c for o in OURS) for c in demo.remember_children()) >= 3  # gateway, v1, v2
            shot("02-approval-gate")

            # Approve without a token: a clear message, and the stage does not change
            click_action(page, "approve", token="", reason="no token")
            message = page.get_by_test_id("message")
            expect(message).to_contain_text("A token is required")
            expect(message).to_contain_text("Nothing was changed")
            expect(message).to_have_attribute("data-kind", "error")
            time.sleep(2.5)  # more than a controller tick: it still waits
            after = status(url)
            assert (after["phase"], after["traffic"]["canary"], after["stage"]["index"]) == (
                "awaiting_approval", 10.0, 1)
            assert "approved" not in event_kinds(url, rid)
            expect(page.get_by_test_id("split-canary")).to_have_text("10%")
            shot("03-no-token")

            # Approve with the token typed into the page's prompt: the canary goes to 50%
            click_action(page, "approve", token=token, reason="final approver: GO")
            expect(message).to_contain_text("done by final-approver")
            expect(page.get_by_test_id("split-canary")).to_have_text("50%")
            expect(page.get_by_test_id("split-control")).to_have_text("50%")
            expect(phase).to_have_attribute("data-phase", "progressing")
            expect(page.get_by_test_id("stage")).to_contain_text("3 of 4")
            approved = status(url)
            assert (approved["traffic"]["canary"], approved["stage"]["index"]) == (50.0, 2)
            assert "approved" in event_kinds(url, rid)
            shot("04-approved-50")

            # Roll back (the token is remembered; the confirmation asks for the reason)
            click_action(page, "rollback", token=None, reason="e2e: rolled back from the dashboard")
            expect(phase).to_have_attribute("data-phase", "rolled_back", timeout=15_000)
            expect(phase).to_have_text("rolled back")
            expect(page.get_by_test_id("split-canary")).to_have_text("0%")
            expect(page.get_by_test_id("events").locator("li[data-kind=rollback_finished]")).to_have_count(1)
            expect(page.get_by_test_id("btn-rollback")).to_be_disabled()
            expect(page.get_by_test_id("history").locator("tbody tr")).to_contain_text("rolled back (operator)")
            shot("05-rolled-back")
            assert page.evaluate("window.__canariaLoadId") == load_id  # never reloaded
            assert not page_errors, page_errors
        finally:
            browser.close()

    # an operator's rollback is "aborted": exit code 4, and the JSON says so
    code = demo.wait(timeout=30)
    assert code == 4, demo.stderr_tail()
    summary = demo.final_json()
    assert (summary["outcome"], summary["phase"], summary["final_traffic"]) == ("aborted", "rolled_back", 0)
    assert summary["rollback_reason"] == "e2e: rolled back from the dashboard"
    assert [s["traffic"] for s in summary["stages"]] == [5, 10, 50]
    assert summary["requests"]["canary"] > 0
    assert demo.leftovers() == []


def test_dashboard_on_the_errors_demo_shows_the_automatic_rollback(start_demo: Any, artifacts_dir: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    demo: DemoProcess = start_demo("--scenario", "errors")
    url, _ = demo.dashboard()
    with sync_playwright() as pw:
        browser = launch(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1900})
            page.goto(url)
            expect(page.get_by_test_id("split-canary")).to_have_text("5%", timeout=30_000)
            demo.remember_children()
            phase = page.get_by_test_id("phase")
            expect(phase).to_have_attribute("data-phase", "rolled_back", timeout=45_000)
            expect(phase).to_have_text("rolled back")
            expect(page.get_by_test_id("split-canary")).to_have_text("0%")
            started = page.get_by_test_id("events").locator("li[data-kind=rollback_started]")
            expect(started).to_have_count(1)
            expect(started).to_contain_text("error rate")
            expect(started.locator("i")).to_have_text("demo")  # the demo's own controller, not a token holder
            expect(page.get_by_test_id("decision")).to_have_text("NO-GO")
            expect(page.get_by_test_id("reasons")).to_contain_text("error rate")
            expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(1)
            expect(page.get_by_test_id("history").locator("tbody tr")).to_contain_text("rolled back (judge)")
            page.screenshot(path=str(artifacts_dir / "demo-dashboard-06-errors-rolled-back.png"), full_page=True)
        finally:
            browser.close()

    code = demo.wait(timeout=30)
    assert code == 3, demo.stderr_tail()
    summary = demo.final_json()
    assert summary["outcome"] == "rolled_back" and summary["final_traffic"] == 0
    assert "error rate" in summary["rollback_reason"]
    assert demo.leftovers() == []


def test_a_killed_demo_leaves_no_processes(start_demo: Any) -> None:
    """PR_SET_PDEATHSIG: even kill -9 of the demo must not leave the gateway or the services running."""
    demo: DemoProcess = start_demo("--scenario", "good")
    url, _ = demo.dashboard()
    deadline = time.monotonic() + 30
    while status(url)["traffic"]["canary"] != 5.0:
        assert time.monotonic() < deadline, demo.stderr_tail()
        time.sleep(0.3)
    children = demo.remember_children()
    assert sum(any(o in c for o in OURS) for c in children) >= 3, children
    demo.proc.kill()
    demo.proc.wait(timeout=10)
    assert demo.leftovers() == []


async def test_a_stopping_dashboard_sends_the_last_change_before_it_ends_the_stream(tmp_path: Path) -> None:
    """Why the errors demo's page shows the rollback at all: the demo stops its dashboard right after the
    rollout ends, often before the next poll; the stream must flush what is new before it ends.
    (Deterministic: the poll interval is longer than the test, so only the final flush can deliver.)"""
    from canaria.web.server import DashboardServer
    from tests.web.helpers import make_config, pause, rollout_at_gate

    config = make_config(tmp_path)
    await rollout_at_gate(config)
    server = DashboardServer(config, listen="127.0.0.1:0", poll_interval=60)
    url = await server.start()
    stopping: asyncio.Task[None] | None = None
    try:
        async with httpx.AsyncClient(timeout=10) as client, client.stream("GET", url + "api/v1/stream") as resp:
            lines = resp.aiter_lines()
            kind, _ = await asyncio.wait_for(_next_event(lines), 5)
            assert kind == "snapshot"
            await pause(config)  # the state changes, then the server stops before any poll
            stopping = asyncio.create_task(server.stop())
            kind, update = await asyncio.wait_for(_next_event(lines), 5)
            assert kind == "update" and update["status"]["phase"] == "paused"
            assert [e["kind"] for e in update["events"]] == ["paused"]
            await asyncio.wait_for(stopping, 10)
    finally:
        if stopping is None:
            await server.stop()


async def _next_event(lines: Any) -> tuple[str, dict[str, Any]]:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, json.loads(line[6:])
    raise AssertionError("the stream ended without another event")
