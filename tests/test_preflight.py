"""Pre-flight: the program of a command is found the way the shell would run it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from canaria.config import UpstreamConfig, parse_config
from canaria.controller.clock import FakeClock
from canaria.runtime.app import open_app
from canaria.runtime.preflight import _command_found, run_checks
from tests.fakes import FakeMetrics, FakePlatform, variant
from tests.notify.receivers import free_port


def spec(command: str) -> UpstreamConfig:
    return UpstreamConfig(command=command, port=9001)


def test_exec_and_assignments_are_the_shells() -> None:
    assert _command_found(spec("exec python3 -m http.server"))[0]
    assert _command_found(spec("PORT=9001 DEBUG=1 python3 app.py"))[0]
    ok, detail = _command_found(spec("exec no-such-program-here --port 1"))
    assert not ok and "'no-such-program-here' not found on PATH" in detail


def test_command_details_read_in_korean() -> None:
    ok, detail = _command_found(spec("exec no-such-program-here --port 1"), "ko")
    assert not ok and detail == "PATH에서 'no-such-program-here'를 찾을 수 없음"
    ok, detail = _command_found(spec("python3 app.py"), "ko")
    assert ok and detail.startswith("python3 → /")
    ok, detail = _command_found(spec("python3 'unclosed"), "ko")
    assert not ok and detail.startswith("명령을 해석할 수 없음: ")


def test_check_details_are_korean_with_lang_ko(tmp_path: Path) -> None:
    """`canaria check --lang ko`: canaria's own detail strings come from the catalogue, not English."""
    cfg = parse_config(f"""
service: svc
platform:
  stable: {{url: "http://127.0.0.1:1"}}
  canary: {{url: "http://127.0.0.1:2"}}
gateway: {{listen: "127.0.0.1:{free_port()}", admin_listen: "127.0.0.1:{free_port()}"}}
state_dir: {tmp_path / "state"}
notify: {{channels: {{hook: {{type: webhook, url: "http://127.0.0.1:9/x"}}}}}}
""")
    platform = FakePlatform()

    async def gateway_down() -> bool:
        return False

    platform.gateway = SimpleNamespace(alive=gateway_down)  # type: ignore[attr-defined]
    app = open_app(cfg, clock=FakeClock(), platform=platform, metrics=FakeMetrics(lambda w, n: (variant(1), variant(1))))
    try:
        lines = {line.name: line.detail for line in asyncio.run(run_checks(app, lang="ko"))}
    finally:
        asyncio.run(app.close())
    assert lines["config"] == "메모리 내 설정: 유효, 서비스 svc"
    assert lines["dependencies"] == "Python 의존성 모두 불러올 수 있음"
    assert lines["notify"] == "알림 채널 1개 설정됨 (`--notify-test`로 각 채널에 테스트 메시지 전송)"
    assert lines["gateway admin port"].endswith(" 비어 있음 (게이트웨이는 run/enable-canary로 시작)")
