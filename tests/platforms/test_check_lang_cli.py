"""`canaria check --lang ko` as a user runs it against real nginx and HAProxy: the backends' own lines read in
Korean, and `check --json` in English keeps the words it always had."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from canaria.platforms.processes import free_port

from .proxy_fixtures import Processes, haproxy_config, nginx_config, processes, start_haproxy, start_nginx

__all__ = ["processes"]
pytestmark = pytest.mark.integration


def _check(tmp_path: Path, data: dict[str, object], *args: str) -> str:
    path = tmp_path / "canaria.yaml"
    path.write_text(yaml.safe_dump(data))
    result = subprocess.run([sys.executable, "-m", "canaria", "check", "-c", str(path), *args], capture_output=True,
                            text=True, env={"COLUMNS": "400", "LANG": "C.UTF-8", "PATH": "/usr/sbin:/usr/bin:/bin"},
                            timeout=60, stdin=subprocess.DEVNULL)
    return result.stdout if "--json" in args else " ".join((result.stdout + result.stderr).split())


def test_nginx_check_in_korean(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    nginx = start_nginx(tmp_path, processes, [stable.address], [canary.address])
    data = nginx_config(nginx, stable, canary, tmp_path)
    out = _check(tmp_path, data, "--lang", "ko")
    for line in (f"✅ nginx: include: {nginx.include}이(가) 포함되어 있습니다",
                 "✅ nginx: proxy_pass: location 하나가 http://$canaria_app_upstream(으)로 프록시합니다",
                 f"✅ nginx: access log: {nginx.access_log}에 canaria가 읽는 필드가 있습니다",
                 "✅ nginx: loaded route: 워커가 라우팅 세대 0을(를) 적용 중입니다"):
        assert line in out, out
    assert "✅ 안정 버전: GET /health: 서버 1대 모두 /health 응답 200" in out, out
    assert "is included" not in out and "proxies to" not in out and "server(s)" not in out, out
    lines = {line["name"]: line["detail"] for line in json.loads(_check(tmp_path, data, "--json"))["checks"]}
    assert lines["nginx: include"] == f"{nginx.include} is included"
    assert lines["nginx: loaded route"] == "workers serve generation 0"
    assert lines["stable: GET /health"] == lines["canary: GET /health"] == "1 server(s) /health → 200"


def test_haproxy_check_in_korean(tmp_path: Path, processes: Processes) -> None:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    proxy = start_haproxy(tmp_path, processes, stable, canary)
    out = _check(tmp_path, haproxy_config(proxy, stable, canary, tmp_path), "--lang", "ko")
    for line in ("✅ haproxy: servers: stable 가중치 100, canary 가중치 0",
                 f"✅ haproxy: tester map: {proxy.map_file}이(가) 로드되어 있습니다",
                 f"✅ haproxy: access log: 배포 중에 canaria가 udp://127.0.0.1:{proxy.log_port}에서 수신합니다"):
        assert line in out, out
    assert "✅ haproxy: runtime API: HAProxy 2." in out and f"{proxy.socket}에서 응답합니다" in out, out


def test_local_health_check_in_korean(tmp_path: Path, processes: Processes) -> None:
    stable, silent = processes.origin("stable"), f"127.0.0.1:{free_port()}"
    data = {"service": "svc", "state_dir": str(tmp_path / "state"),
            "gateway": {"listen": f"127.0.0.1:{free_port()}", "admin_listen": f"127.0.0.1:{free_port()}"},
            "platform": {"stable": {"url": f"http://{stable.address}"}, "canary": {"url": f"http://{silent}"}}}
    out = _check(tmp_path, data, "--lang", "ko")
    refused = "ConnectError All connection attempts failed"  # httpx's own words stay as they are
    for line in (f"✅ 안정 버전: GET /health: http://{stable.address}/health 응답 200",
                 f"✅ 안정 버전: GET /health/detailed: http://{stable.address}/health/detailed 응답 200",
                 f"❌ 카나리: GET /health: http://{silent}/health 요청 실패: {refused}"):
        assert line in out, out
    assert "→ 200" not in out, out
    lines = {line["name"]: line["detail"] for line in json.loads(_check(tmp_path, data, "--json"))["checks"]}
    assert lines["stable: GET /health"] == f"http://{stable.address}/health → 200"
    assert lines["stable: GET /health/detailed"] == f"http://{stable.address}/health/detailed → 200"
    assert lines["canary: GET /health"] == f"http://{silent}/health: {refused}"
