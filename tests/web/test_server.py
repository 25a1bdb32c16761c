"""The dashboard as a real server on a loopback port: the live stream, shutdown with streams open,
a taken port, the Host guard, and `canaria dashboard` as a process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from canaria.errors import PortInUseError
from canaria.web.server import DashboardServer
from tests.web.helpers import TOKEN, make_config, pause, rollout_at_gate

REPO = Path(__file__).resolve().parents[2]


async def _next_event(lines) -> tuple[str, dict]:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, json.loads(line[6:])
    raise AssertionError("stream ended")


async def test_stream_sends_a_snapshot_then_only_what_changed_and_stops_with_the_server(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    rid = await rollout_at_gate(config)
    server = DashboardServer(config, listen="127.0.0.1:0", poll_interval=0.1)
    url = await server.start()
    stopped = False
    try:
        async with httpx.AsyncClient(timeout=10) as client, client.stream("GET", url + "api/v1/stream") as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            lines = resp.aiter_lines()
            kind, snap = await asyncio.wait_for(_next_event(lines), 5)
            assert kind == "snapshot" and snap["rollout"]["rollout_id"] == rid
            assert snap["status"]["phase"] == "awaiting_approval" and snap["windows"] and snap["verdicts"]
            await pause(config)  # another process (the CLI) acts: the page must hear of it
            kind, update = await asyncio.wait_for(_next_event(lines), 5)
            assert kind == "update" and update["status"]["phase"] == "paused"
            assert [e["kind"] for e in update["events"]] == ["paused"] and update["windows"] == []
            started = time.monotonic()
            await server.stop()  # a live stream must not keep the server from stopping
            stopped = True
            assert time.monotonic() - started < 5
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, StopAsyncIteration, AssertionError)):
                await asyncio.wait_for(_next_event(lines), 5)
    finally:
        if not stopped:
            await server.stop()


async def test_unknown_rollout_stream_is_404_and_the_host_guard_refuses_other_names(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with DashboardServer(config, listen="127.0.0.1:0") as server, httpx.AsyncClient(timeout=5) as client:
            r = await client.get(server.url + "api/v1/stream", params={"rollout_id": "ion-api-00000000"})
            assert r.status_code == 404
            r = await client.get(server.url + "api/v1/info", headers={"Host": f"evil.example:{server.port}"})
            assert r.status_code == 421 and r.json()["error"]["code"] == "wrong_host"
            r = await client.get(f"http://localhost:{server.port}/api/v1/info")
            assert r.status_code == 200
            page = await client.get(server.url)
            assert "script-src 'self'" in page.headers["content-security-policy"]
            for asset in ("/static/app.js", "/static/actions.js", "/static/charts.js", "/static/style.css"):
                assert (await client.get(server.url.rstrip("/") + asset)).status_code == 200
            assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from elsewhere


async def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=str(port)):
            await DashboardServer(config, listen=f"127.0.0.1:{port}").start()


def test_canaria_dashboard_command_serves_until_ctrl_c(tmp_path: Path) -> None:
    config_file = tmp_path / "canaria.yaml"
    config_file.write_text(f"""
service: ion-api
state_dir: {tmp_path / 'state'}
platform: {{stable: {{url: "http://127.0.0.1:1"}}, canary: {{url: "http://127.0.0.1:2"}}}}
dashboard: {{listen: "127.0.0.1:0", tokens: {{lubit: "${{TOKEN_LUBIT}}"}}}}
""", encoding="utf-8")
    code = ("import typer\nfrom canaria.cli.dashboard import register\napp = typer.Typer()\nregister(app)\n"
            "@app.command()\ndef other() -> None: pass\napp()\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TOKEN_LUBIT": TOKEN}
    with subprocess.Popen([sys.executable, "-c", code, "dashboard", "-c", str(config_file), "--lang", "en"],
                          stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env) as proc:
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()
            assert first.startswith("canaria dashboard: http://127.0.0.1:"), first
            assert "lubit" in proc.stderr.readline()
            url = first.split(": ", 1)[1].strip()
            info = httpx.get(url + "api/v1/info", timeout=5).json()
            assert info["service"] == "ion-api" and info["auth"]["actions_enabled"] is True
            r = httpx.post(url + "api/v1/rollouts/ion-api-00000000/pause", timeout=5)
            assert r.status_code == 401
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_canaria_dashboard_rejects_a_bad_listen_address(tmp_path: Path) -> None:
    config_file = tmp_path / "canaria.yaml"
    config_file.write_text('service: s\nplatform: {stable: {url: "http://127.0.0.1:1"}, canary: '
                           '{url: "http://127.0.0.1:2"}}\n', encoding="utf-8")
    code = ("import typer\nfrom canaria.cli.dashboard import register\napp = typer.Typer()\nregister(app)\n"
            "@app.command()\ndef other() -> None: pass\napp()\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code, "dashboard", "-c", str(config_file), "--listen", "nowhere"],
                          check=False, capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 2 and "--listen" in done.stderr


async def test_serve_dashboard_runs_as_a_task_in_the_callers_loop_until_cancelled(tmp_path: Path) -> None:
    """How `canaria demo --dashboard` embeds it: same loop, the demo's store and controller."""
    from canaria.web import serve_dashboard, shared_operator_factory
    from tests.web.helpers import open_fake_app

    config = make_config(tmp_path)
    await rollout_at_gate(config)
    app = open_fake_app(config)
    ready: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(serve_dashboard(config, "127.0.0.1:0", "ko", store=app.store,
                                               operator_factory=shared_operator_factory(app.controller),
                                               tokens={"final-approver": "demo-token-123"}, on_ready=ready.put_nowait))
    try:
        url = await asyncio.wait_for(ready.get(), 10)
        async with httpx.AsyncClient(timeout=5) as client:
            assert (await client.get(url + "api/v1/info")).json()["lang"] == "ko"
            rid = (await client.get(url + "api/v1/status")).json()["rollout_id"]
            r = await client.post(url + f"api/v1/rollouts/{rid}/approve",
                                  headers={"Authorization": "Bearer demo-token-123"})
            assert r.status_code == 200 and r.json()["actor"] == "final-approver"
        assert app.controller.active().traffic == 30
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app.close()
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "healthz")
