"""`canaria check`'s nginx and HAProxy lines against the real proxies: English word for word what they always
said (`check --json` and the record keep it), and Korean for `check --lang ko`.

One proxy per test; each case changes the proxy's configuration file or canaria's settings and checks again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from canaria.platforms.base import PlatformCheck
from canaria.platforms.haproxy import HaproxyPlatform
from canaria.platforms.nginx import NginxPlatform
from canaria.platforms.processes import free_port

from .check_texts import english, shown, untranslated
from .proxy_fixtures import (
    Haproxy,
    Nginx,
    Processes,
    as_config,
    haproxy_config,
    nginx_config,
    processes,
    start_haproxy,
    start_nginx,
)

__all__ = ["processes"]


@pytest.fixture
async def closing() -> AsyncIterator[list[NginxPlatform | HaproxyPlatform]]:
    built: list[NginxPlatform | HaproxyPlatform] = []
    yield built
    for platform in built:
        await platform.close()


@dataclass
class NginxCases:
    nginx: Nginx
    silent: str  # a status address nothing answers on
    cases: dict[str, list[PlatformCheck]]


async def nginx_cases(tmp_path: Path, processes: Processes,
                      closing: list[NginxPlatform | HaproxyPlatform]) -> NginxCases:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    nginx = start_nginx(tmp_path, processes, [stable.address], [canary.address])

    async def checks(**settings: Any) -> list[PlatformCheck]:
        data = nginx_config(nginx, stable, canary, tmp_path)
        data["platform"]["nginx"].update(settings)
        platform = NginxPlatform(as_config(data))
        closing.append(platform)
        return await platform.checks()

    silent = f"127.0.0.1:{free_port()}"
    cases = {"good": await checks(),
             "elsewhere": await checks(status_listen=silent, access_log=str(tmp_path / "other.json")),
             "missing": await checks(test_command="no-such-nginx -t")}
    conf, include = nginx.conf.read_text(), f"include {nginx.include};"
    elsewhere = "proxy_pass http://127.0.0.1:1;"
    nginx.conf.write_text(conf.replace("\"request_time\":$request_time", "\"request\":1")
                          .replace("proxy_pass http://$canaria_app_upstream;", elsewhere))
    cases["lacking"] = await checks()
    nginx.conf.write_text(conf.replace(include, "").replace("proxy_pass http://$canaria_app_upstream;", elsewhere))
    cases["unincluded"] = await checks()
    nginx.conf.write_text(conf.replace(include, ""))
    cases["undefined"] = await checks()
    nginx.conf.write_text(conf)
    return NginxCases(nginx, silent, cases)


async def test_nginx_lines_in_english_are_unchanged(tmp_path: Path, processes: Processes,
                                                    closing: list[NginxPlatform | HaproxyPlatform]) -> None:
    found = await nginx_cases(tmp_path, processes, closing)
    include, log, cases = found.nginx.include, found.nginx.access_log, found.cases
    assert english(cases["good"]) == {
        "nginx: binary": found.nginx.binary,
        "nginx: include": f"{include} is included",
        "nginx: proxy_pass": "a location proxies to http://$canaria_app_upstream",
        "nginx: access log": f"{log} has the fields canaria reads",
        "nginx: loaded route": "workers serve generation 0",
    }
    lines = english(cases["elsewhere"])
    assert lines["nginx: access log"] == f"no access_log {tmp_path / 'other.json'} in the configuration"
    assert lines["nginx: loaded route"] == (f"nothing answers http://{found.silent}/canaria/app yet (loaded by the "
                                            "first stage)")
    lines = english(cases["lacking"])
    assert lines["nginx: proxy_pass"] == ("add `proxy_pass http://$canaria_app_upstream;` to the location that serves "
                                          "the service")
    assert lines["nginx: access log"] == ("the log_format lacks $request_time (the canaria.yaml of "
                                          "`canaria init --platform nginx` has it)")
    assert english(cases["unincluded"])["nginx: include"] == f"add `include {include};` inside http {{}}"
    assert english(cases["undefined"])["nginx: configuration"] == (
        f"'{found.nginx.dump_command}' failed: nginx: [emerg] unknown \"canaria_app_upstream\" variable — add "
        f"`include {include};` inside http {{}}")
    assert english(cases["missing"]) == {"nginx: binary": "no-such-nginx not found on PATH"}


async def test_nginx_lines_in_korean(tmp_path: Path, processes: Processes,
                                     closing: list[NginxPlatform | HaproxyPlatform]) -> None:
    found = await nginx_cases(tmp_path, processes, closing)
    include, log, cases = found.nginx.include, found.nginx.access_log, found.cases
    assert [name for name, checks in cases.items() if untranslated(checks)] == []
    assert shown(cases["good"], "ko") == {
        "nginx: binary": found.nginx.binary,
        "nginx: include": f"{include}이(가) 포함되어 있습니다",
        "nginx: proxy_pass": "location 하나가 http://$canaria_app_upstream(으)로 프록시합니다",
        "nginx: access log": f"{log}에 canaria가 읽는 필드가 있습니다",
        "nginx: loaded route": "워커가 라우팅 세대 0을(를) 적용 중입니다",
    }
    lines = shown(cases["elsewhere"], "ko")
    assert lines["nginx: access log"] == f"설정에 access_log {tmp_path / 'other.json'}이(가) 없습니다"
    assert lines["nginx: loaded route"] == (f"아직 http://{found.silent}/canaria/app에서 응답이 없습니다 (첫 단계에서 "
                                            "불러옵니다)")
    lines = shown(cases["lacking"], "ko")
    assert lines["nginx: proxy_pass"] == ("서비스를 제공하는 location에 `proxy_pass http://$canaria_app_upstream;`을(를) "
                                          "추가하세요")
    assert lines["nginx: access log"] == ("log_format에 $request_time이(가) 없습니다 (`canaria init --platform nginx`의 "
                                          "canaria.yaml에 있습니다)")
    assert shown(cases["unincluded"], "ko")["nginx: include"] == f"http {{}} 안에 `include {include};`을(를) 추가하세요"
    assert shown(cases["undefined"], "ko")["nginx: configuration"] == (
        f"'{found.nginx.dump_command}' 실패: nginx: [emerg] unknown \"canaria_app_upstream\" variable — http {{}} "
        f"안에 `include {include};`을(를) 추가하세요")  # nginx's own answer stays as nginx said it
    assert shown(cases["missing"], "ko") == {"nginx: binary": "PATH에서 no-such-nginx을(를) 찾을 수 없습니다"}


@dataclass
class HaproxyCases:
    proxy: Haproxy
    log: Path
    no_socket: Path
    cases: dict[str, list[PlatformCheck]]


async def haproxy_cases(tmp_path: Path, processes: Processes,
                        closing: list[NginxPlatform | HaproxyPlatform]) -> HaproxyCases:
    stable, canary = processes.origin("stable"), processes.origin("canary")
    proxy = start_haproxy(tmp_path, processes, stable, canary)

    async def checks(**settings: Any) -> list[PlatformCheck]:
        data = haproxy_config(proxy, stable, canary, tmp_path)
        data["platform"]["haproxy"].update(settings)
        platform = HaproxyPlatform(as_config(data))
        closing.append(platform)
        return await platform.checks()

    log, no_socket = tmp_path / "haproxy.log", tmp_path / "nope.sock"
    cases = {"good": await checks(),
             "unmapped": await checks(map_file=str(tmp_path / "other.map"), access_log=None),
             "unreadable": await checks(access_log=str(log)),
             "wrong backend": await checks(backend="be_nope"),
             "ghost server": await checks(canary_server="ghost"),
             "absent": await checks(runtime_api=str(no_socket))}
    log.write_text("Dec  1 19:30:00 haproxy[42]: Proxy fe started.\n")
    cases["unmarked"] = await checks(access_log=str(log))
    log.write_text("<134>Dec  1 19:30:00 haproxy[42]: canaria1 be_app canary 200 3 7\n")
    cases["marked"] = await checks(access_log=str(log))
    return HaproxyCases(proxy, log, no_socket, cases)


def haproxy_version(cases: HaproxyCases) -> str:
    line = {c.name: c.detail for c in cases.cases["good"]}["haproxy: runtime API"]
    version = line.removeprefix("HAProxy ").removesuffix(f" answers on {cases.proxy.socket}")
    assert version and version[0].isdigit(), line
    return version


async def test_haproxy_lines_in_english_are_unchanged(tmp_path: Path, processes: Processes,
                                                      closing: list[NginxPlatform | HaproxyPlatform]) -> None:
    found = await haproxy_cases(tmp_path, processes, closing)
    proxy, log, cases = found.proxy, found.log, found.cases
    assert english(cases["good"]) == {
        "haproxy: runtime API": f"HAProxy {haproxy_version(found)} answers on {proxy.socket}",
        "haproxy: servers": "stable weight 100, canary weight 0",
        "haproxy: tester map": f"{proxy.map_file} is loaded",
        "haproxy: access log": f"canaria listens on udp://127.0.0.1:{proxy.log_port} during a rollout",
    }
    lines = english(cases["unmapped"])
    assert lines["haproxy: tester map"] == f"no map {tmp_path / 'other.map'} loaded: add the use-server line"
    assert lines["haproxy: access log"] == "no access_log: measurements need Prometheus"
    assert english(cases["unreadable"])["haproxy: access log"] == f"cannot read {log}: No such file or directory"
    assert english(cases["unmarked"])["haproxy: access log"] == (
        f"no canaria1 line in {log} yet (the canaria.yaml of `canaria init --platform haproxy` has the log-format)")
    assert english(cases["marked"])["haproxy: access log"] == f"{log} has canaria1 lines"
    assert english(cases["ghost server"])["haproxy: servers"] == "backend be_app has no server ghost"
    servers = {c.name: c for c in cases["wrong backend"]}["haproxy: servers"]
    assert not servers.ok and "be_nope" in servers.detail, servers
    assert english(cases["absent"]) == {"haproxy: runtime API": f"no socket at {found.no_socket}: add `stats socket "
                                                                f"{found.no_socket} mode 600 level admin` to global"}


async def test_haproxy_lines_in_korean(tmp_path: Path, processes: Processes,
                                       closing: list[NginxPlatform | HaproxyPlatform]) -> None:
    found = await haproxy_cases(tmp_path, processes, closing)
    proxy, log, cases = found.proxy, found.log, found.cases
    assert [name for name, checks in cases.items() if untranslated(checks)] == []
    assert shown(cases["good"], "ko") == {
        "haproxy: runtime API": f"HAProxy {haproxy_version(found)}이(가) {proxy.socket}에서 응답합니다",
        "haproxy: servers": "stable 가중치 100, canary 가중치 0",
        "haproxy: tester map": f"{proxy.map_file}이(가) 로드되어 있습니다",
        "haproxy: access log": f"배포 중에 canaria가 udp://127.0.0.1:{proxy.log_port}에서 수신합니다",
    }
    lines = shown(cases["unmapped"], "ko")
    assert lines["haproxy: tester map"] == f"로드된 맵 {tmp_path / 'other.map'}이(가) 없습니다: use-server 줄을 추가하세요"
    assert lines["haproxy: access log"] == "access_log 없음: 측정에는 Prometheus가 필요합니다"
    assert shown(cases["unreadable"], "ko")["haproxy: access log"] == (
        f"{log}을(를) 읽을 수 없습니다: No such file or directory")  # the OS's reason, as the OS says it
    assert shown(cases["unmarked"], "ko")["haproxy: access log"] == (
        f"{log}에 아직 canaria1 줄이 없습니다 (`canaria init --platform haproxy`의 canaria.yaml에 log-format이 있습니다)")
    assert shown(cases["marked"], "ko")["haproxy: access log"] == f"{log}에 canaria1 줄이 있습니다"
    assert shown(cases["ghost server"], "ko")["haproxy: servers"] == "backend be_app에 서버 ghost이(가) 없습니다"
    assert shown(cases["absent"], "ko") == {
        "haproxy: runtime API": f"{found.no_socket}에 소켓이 없습니다: global에 `stats socket {found.no_socket} mode "
                                "600 level admin`을(를) 추가하세요"}
