"""`canaria check` on nginx and HAProxy configs, as a user runs it, against real proxies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.platforms.proxy_fixtures import (
    Processes,
    haproxy_config,
    nginx_config,
    processes,
    start_haproxy,
    start_nginx,
)

__all__ = ["processes"]
pytestmark = pytest.mark.integration


def _check(tmp_path: Path, data: dict[str, object]) -> str:
    path = tmp_path / "canaria.yaml"
    path.write_text(yaml.safe_dump(data))
    result = subprocess.run([sys.executable, "-m", "canaria", "check", "-c", str(path)], capture_output=True,
                            text=True, env={"COLUMNS": "400", "LANG": "C.UTF-8", "PATH": "/usr/sbin:/usr/bin:/bin"},
                            timeout=60, stdin=subprocess.DEVNULL)
    return " ".join((result.stdout + result.stderr).split())  # the terminal view may wrap long lines


def test_nginx_check_reads_the_loaded_configuration(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    nginx = start_nginx(tmp_path, processes, [stable.address], [canary.address])
    out = _check(tmp_path, nginx_config(nginx, stable, canary, tmp_path))
    for line in ("✅ nginx: include:", "✅ nginx: proxy_pass:", "✅ nginx: access log:", "✅ nginx: loaded route:",
                 "✅ metrics: access log:"):
        assert line in out, out
    nginx.conf.write_text(nginx.conf.read_text().replace(f"include {nginx.include};", ""))
    out = _check(tmp_path, nginx_config(nginx, stable, canary, tmp_path))
    # nginx itself refuses a proxy_pass to a variable nobody defines; the check says which line is missing
    assert 'unknown "canaria_app_upstream" variable' in out, out
    assert f"add `include {nginx.include};` inside http {{}}" in out, out


def test_haproxy_check_asks_the_runtime_api(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    proxy = start_haproxy(tmp_path, processes, stable, canary)
    data = haproxy_config(proxy, stable, canary, tmp_path)
    out = _check(tmp_path, data)
    for line in ("✅ haproxy: runtime API: HAProxy 2.", "✅ haproxy: servers: stable weight 100, canary weight 0",
                 "✅ haproxy: tester map:"):
        assert line in out, out
    data["platform"]["haproxy"]["canary_server"] = "ghost"  # type: ignore[index]
    assert "❌ haproxy: servers: backend be_app has no server ghost" in _check(tmp_path, data)
