"""Start-up and shutdown: taken ports, the module entry point and signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from canaria.errors import PortInUseError
from canaria.gateway import Gateway

from .fakes import FakeUpstream, free_port, make_config

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.parametrize("which", ["listen", "admin_listen"])
async def test_taken_port_raises_port_in_use_naming_the_port(
    tmp_path: Path, stable: FakeUpstream, canary: FakeUpstream, which: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = make_config(str(tmp_path), stable.url, canary.url, **{which: f"127.0.0.1:{port}"})
        gateway = Gateway(config)
        with pytest.raises(PortInUseError, match=f"port {port} "):
            await gateway.start()
        # the other port was released again: a second gateway can bind everything else
        config = make_config(str(tmp_path), stable.url, canary.url)
        other = Gateway(config)
        await other.start()
        await other.stop()


def _wait_health(port: int, proc: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"gateway exited early: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/health", timeout=1) as response:
                return dict(json.load(response))
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gateway did not answer /admin/health")


def _write_config(tmp_path: Path, stable_url: str, public_port: int, admin_port: int) -> Path:
    path = tmp_path / "canaria.yaml"
    path.write_text(
        f"""service: shop
state_dir: state
platform:
  kind: local
  stable: {{url: "{stable_url}"}}
  canary: {{url: "{stable_url}"}}
gateway:
  listen: "127.0.0.1:{public_port}"
  admin_listen: "127.0.0.1:{admin_port}"
  admin_token: s3cret
"""
    )
    return path


def test_module_entry_point_serves_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    public_port, admin_port = free_port(), free_port()
    config = _write_config(tmp_path, "http://127.0.0.1:9", public_port, admin_port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "canaria.gateway", "-c", str(config)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        health = _wait_health(admin_port, proc)
        assert health["ok"] is True and health["pid"] == proc.pid
        with urllib.request.urlopen(f"http://127.0.0.1:{public_port}/api/v2/canary/status", timeout=2) as r:
            assert json.load(r)["service"] == "shop"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert b"stopped" in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_module_entry_point_reports_a_taken_port_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _write_config(tmp_path, "http://127.0.0.1:9", port, free_port())
        result = subprocess.run(
            [sys.executable, "-m", "canaria.gateway", "-c", str(config)],
            env={**os.environ, "PYTHONPATH": SRC},
            capture_output=True,
            timeout=20,
            check=False,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr.decode()


def test_module_entry_point_exits_2_on_a_missing_config(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "canaria.gateway", "-c", str(tmp_path / "none.yaml")],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2 and "not found" in result.stderr.decode()
