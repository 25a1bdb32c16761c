"""The runbook's commands for real: check, enable-canary, metrics, status, rollback, history — with the
gateway and both versions as real processes, and the runbook's own script names."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli_helpers import canaria, canaria_json, gateway_urls, write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    path = write_config(tmp_path)
    try:
        yield path
    finally:
        canaria(path, "stop")


def send(public: str, n: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    with httpx.Client(timeout=5) as client:
        for i in range(n):
            r = client.get(f"{public}/api/v2/recommendations", params={"user_id": f"u{i}"})
            variant = r.headers.get("x-canaria-variant", "?")
            seen[variant] = seen.get(variant, 0) + 1
    return seen


def test_runbook_day_by_hand(config: Path) -> None:
    check = canaria(config, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "✅ rollback --dry-run" in check.stdout

    started = canaria(config, "enable-canary", "--traffic", "50")
    assert started.returncode == 0, started.stderr
    assert "only `canaria run`" in started.stderr and "--watch" in started.stderr  # nothing judges it yet
    public, _ = gateway_urls(config)
    assert httpx.get(f"{public}/health", timeout=5).status_code == 200
    seen = send(public, 200)
    assert seen.get("canary", 0) > 50 and seen.get("stable", 0) > 50, seen

    metrics = canaria_json(config, "metrics")
    assert metrics["canary"]["requests"] > 0 and metrics["control"]["requests"] > 0
    assert {"p50_ms", "p95_ms", "p99_ms", "error_rate_pct", "rps", "memory_pct"} <= set(metrics["canary"])
    status = canaria_json(config, "status")
    assert status["phase"] == "progressing" and status["traffic"]["canary"] == 50

    # a second rollout for the same service is refused... but moving the active one is allowed
    moved = canaria(config, "enable-canary", "--traffic", "10")
    assert moved.returncode == 0, moved.stderr
    assert canaria_json(config, "status")["traffic"]["canary"] == 10
    bad = canaria(config, "enable-canary", "--traffic", "150")
    assert bad.returncode == 2 and canaria_json(config, "status")["traffic"]["canary"] == 10

    dry = canaria(config, "rollback", "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert canaria_json(config, "status")["traffic"]["canary"] == 10

    done = canaria(config, "rollback", "--reason", "rehearsal")
    assert done.returncode == 0, done.stderr
    assert send(public, 50) == {"stable": 50}
    history = canaria_json(config, "history")
    assert history["rollouts"][0]["outcome"] == "aborted"
    assert history["rollouts"][0]["reason"] == "rehearsal"


def test_runbook_script_names(config: Path) -> None:
    script = ROOT / "scripts" / "phase4_deployment_automation.sh"
    env = {**os.environ, "CANARIA_CONFIG": str(config), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env, timeout=60)

    assert sh("check").returncode == 0
    assert sh("rollback", "--dry-run").returncode == 0
    enabled = sh("enable-canary", "--traffic", "5")
    assert enabled.returncode == 0, enabled.stderr
    assert sh("metrics").returncode == 0
    assert sh("rollback", "--force").returncode == 0
    assert sh("bogus").returncode == 2


def test_port_in_use_is_named_and_nothing_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    public, _ = gateway_urls(config)
    port = int(public.rsplit(":", 1)[1])
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = canaria(config, "enable-canary", "--traffic", "5")
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert canaria_json(config, "status")["phase"] == "none"
    canaria(config, "stop")


def test_kill_9_of_run_then_run_again_continues_with_the_gateway_serving(tmp_path: Path) -> None:
    config = write_config(tmp_path, holds="10m", interval="0.5s")
    public, _ = gateway_urls(config)
    env = {**os.environ, "LANG": "C.UTF-8"}
    cmd = [sys.executable, "-m", "canaria", "run", "-c", str(config)]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    second: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 40
        status: dict = {}
        while time.monotonic() < deadline:
            polled = canaria(config, "status", "--json")  # exit 1 while `run` is still starting the data plane
            assert polled.returncode in (0, 1), polled.stderr
            status = json.loads(polled.stdout.strip().splitlines()[-1])
            if status["phase"] == "progressing" and status["last_verdicts"] and polled.returncode == 0:
                break
            time.sleep(0.3)
        assert status["phase"] == "progressing", status
        rollout_id, weight = status["rollout_id"], status["traffic"]["canary"]
        refused = canaria(config, "run")
        assert refused.returncode == 2 and "already driving" in refused.stderr
        os.kill(first.pid, signal.SIGKILL)
        first.wait(5)
        # the data plane keeps serving without its controller
        with httpx.Client(timeout=5) as client:
            assert all(client.get(f"{public}/health").status_code == 200 for _ in range(20))
        second = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(3)
        after = canaria_json(config, "status")
        assert after["rollout_id"] == rollout_id
        assert after["stage"]["index"] == status["stage"]["index"] and after["traffic"]["canary"] == weight
        assert after["phase"] == "progressing" and second.poll() is None
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
        canaria(config, "rollback", "--force")
        canaria(config, "stop")


def test_check_fails_clearly_when_a_health_endpoint_is_down(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text()
    import yaml

    data = yaml.safe_load(text)
    data["platform"]["canary"] = {"url": "http://127.0.0.1:9", "health": "/health"}
    config.write_text(yaml.safe_dump(data))
    result = canaria(config, "check")
    assert result.returncode == 1
    assert "❌ canary: GET /health" in result.stdout
    assert "pre-flight check(s) failed" in result.stdout


def test_run_serves_the_dashboard_and_acts_through_its_own_controller(tmp_path: Path) -> None:
    from canaria.platforms.processes import free_port

    port = free_port()
    config = write_config(tmp_path, holds="10m", interval="0.5s",
                          extra={"dashboard": {"tokens": {"lubit": "lubit-secret-token"}}})
    env = {**os.environ, "LANG": "C.UTF-8"}
    run = subprocess.Popen([sys.executable, "-m", "canaria", "run", "--json", "--dashboard", "--listen",
                            f"127.0.0.1:{port}", "-c", str(config)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        status: dict = {}
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"{base}/api/v1/status", timeout=2).json()
                if status.get("phase") == "progressing":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert status.get("phase") == "progressing", status
        rid = status["rollout_id"]
        denied = httpx.post(f"{base}/api/v1/rollouts/{rid}/rollback", json={"reason": "x"}, timeout=5)
        assert denied.status_code == 401
        done = httpx.post(f"{base}/api/v1/rollouts/{rid}/rollback", json={"reason": "from the browser"},
                          headers={"Authorization": "Bearer lubit-secret-token"}, timeout=10)
        assert done.status_code == 200, done.text
        out, _ = run.communicate(timeout=30)
        assert run.returncode == 4  # stopped by an operator
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["outcome"] == "aborted" and summary["rollback_reason"] == "from the browser"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(5)
        canaria(config, "stop")
