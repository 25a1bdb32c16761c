"""Every backend's rollback plan as catalogue texts: English word for word what `rollback_plan()` always said,
Korean for `rollback --dry-run --lang ko` and `check --lang ko`.

Building a backend starts nothing (no nginx, HAProxy, cluster or Google call), so these run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from canaria.config import CanariaConfig
from canaria.i18n.text import render
from canaria.platforms.base import Platform
from canaria.platforms.cloudrun import CloudRunPlatform
from canaria.platforms.haproxy import HaproxyPlatform
from canaria.platforms.kubernetes import KubernetesPlatform
from canaria.platforms.nginx import NginxPlatform
from tests.emulators.cloudrun import CloudRunEmulator
from tests.platforms.cloudrun_harness import cloudrun_config, fake

__all__ = ["fake"]

STABLE = {"url": "http://127.0.0.1:9101"}
CANARY = {"url": "http://127.0.0.1:9102"}
CANARY_COMMAND = {"command": "python -m http.server 9102", "port": 9102}


def _config(tmp_path: Path, platform: dict[str, Any]) -> CanariaConfig:
    return CanariaConfig.model_validate({"service": "ion-api", "state_dir": str(tmp_path / "state"),
                                         "platform": platform, "source_path": str(tmp_path / "canaria.yaml")})


def nginx(tmp_path: Path, *, canary: dict[str, Any] = CANARY) -> NginxPlatform:
    return NginxPlatform(_config(tmp_path, {
        "kind": "nginx", "stable": STABLE, "canary": canary,
        "nginx": {"upstream_file": "/etc/nginx/canaria/ion-api.conf", "upstream_name": "ion_api",
                  "test_command": "sudo nginx -t", "reload_command": "sudo systemctl reload nginx",
                  "status_listen": "127.0.0.1:8799"}}))


def haproxy(tmp_path: Path, *, canary: dict[str, Any] | None = None, map_file: str | None = None,
            canary_servers: list[str] | None = None) -> HaproxyPlatform:
    settings: dict[str, Any] = {"runtime_api": "/run/haproxy/admin.sock", "backend": "be_ion"}
    if map_file:
        settings["map_file"] = map_file
    if canary_servers:
        settings["canary_servers"] = canary_servers
    return HaproxyPlatform(_config(tmp_path, {"kind": "haproxy", "stable": STABLE, "canary": canary or CANARY,
                                              "haproxy": settings}))


def kubernetes(tmp_path: Path, *, router: str = "gateway-api", keep: bool = False) -> KubernetesPlatform:
    return KubernetesPlatform(_config(tmp_path, {
        "kind": "kubernetes", "kubernetes": {"kubeconfig": str(tmp_path / "no-kubeconfig"), "deployment": "ion-api",
                                             "router": {"kind": router}, "keep_canary_objects": keep}}))


@pytest.fixture
async def built() -> AsyncIterator[Callable[[Platform], Platform]]:
    """Keeps every backend a test builds and closes it after (their HTTP clients)."""
    platforms: list[Platform] = []

    def keep(platform: Platform) -> Platform:
        platforms.append(platform)
        return platform

    yield keep
    for platform in platforms:
        await platform.close()


def english(platform: Platform) -> list[str]:
    rendered = [render(step, "en") for step in platform.rollback_plan_text()]
    assert rendered == platform.rollback_plan()
    return rendered


def korean(platform: Platform) -> list[str]:
    return [render(step, "ko") for step in platform.rollback_plan_text()]


# ---------------------------------------------------------------- English: today's words, exactly
async def test_nginx_plan_in_english_is_unchanged(tmp_path: Path, built: Callable[[Platform], Platform]) -> None:
    assert english(built(nginx(tmp_path))) == [
        "rewrite /etc/nginx/canaria/ion-api.conf: upstream ion_api with the canary servers down (0%), no tester route",
        "run `sudo nginx -t`; only if it passes `sudo systemctl reload nginx`",
        "read back the weights nginx serves at http://127.0.0.1:8799/canaria/ion_api",
    ]
    assert english(built(nginx(tmp_path, canary=CANARY_COMMAND)))[3] == "stop the canary process (pid not running)"


async def test_haproxy_plan_in_english_is_unchanged(tmp_path: Path, built: Callable[[Platform], Platform]) -> None:
    assert english(built(haproxy(tmp_path))) == [
        "runtime API /run/haproxy/admin.sock: set server be_ion/canary weight 0",
        "read back the weights with `show servers state`",
    ]
    pool = {"urls": ["http://127.0.0.1:9102", "http://127.0.0.1:9103"]}
    assert english(built(haproxy(tmp_path, canary=pool, canary_servers=["c1", "c2"],
                                 map_file="/etc/haproxy/canary.map"))) == [
        "runtime API /run/haproxy/admin.sock: set server be_ion/c1 weight 0",
        "runtime API /run/haproxy/admin.sock: set server be_ion/c2 weight 0",
        "clear map /etc/haproxy/canary.map (no tester route)",
        "read back the weights with `show servers state`",
    ]
    assert english(built(haproxy(tmp_path, canary=CANARY_COMMAND)))[-1] == "stop the canary process (pid not running)"


async def test_kubernetes_plan_in_english_is_unchanged(tmp_path: Path,
                                                       built: Callable[[Platform], Platform]) -> None:
    assert english(built(kubernetes(tmp_path))) == [
        "gateway-api: route 100% to Service ion-api, remove canaria's tester rule",
        "delete Deployment ion-api-canary and Service ion-api-canary",
        "leave Deployment ion-api untouched",
    ]
    assert english(built(kubernetes(tmp_path, router="istio", keep=True))) == [
        "istio: route 100% to Service ion-api, remove canaria's tester rule",
        "scale Deployment ion-api-canary",
        "leave Deployment ion-api untouched",
    ]


async def test_cloudrun_plan_in_english_is_unchanged(fake: CloudRunEmulator, tmp_path: Path,
                                                     built: Callable[[Platform], Platform]) -> None:
    platform = built(CloudRunPlatform(cloudrun_config(fake, tmp_path, tag="preview")))
    assert english(platform) == [
        "read service projects/my-project/locations/asia-northeast3/services/ion-api",
        "write traffic: 100% to the stable revision (pinned by name), remove the tag preview, keep other tags",
        "wait for traffic_statuses to show it (observed_generation caught up, not reconciling)",
        "the canary revision stays (Cloud Run keeps revisions); the service template keeps its image",
    ]


# ---------------------------------------------------------------- Korean
async def test_nginx_plan_in_korean(tmp_path: Path, built: Callable[[Platform], Platform]) -> None:
    assert korean(built(nginx(tmp_path, canary=CANARY_COMMAND))) == [
        "/etc/nginx/canaria/ion-api.conf 다시 쓰기: upstream ion_api의 카나리 서버를 down으로 (0%), 테스터 경로 없음",
        "`sudo nginx -t` 실행, 통과할 때만 `sudo systemctl reload nginx`",
        "nginx가 http://127.0.0.1:8799/canaria/ion_api에서 제공하는 가중치를 다시 읽어 확인",
        "카나리 프로세스 중지 (pid 실행 중 아님)",
    ]


async def test_haproxy_plan_in_korean(tmp_path: Path, built: Callable[[Platform], Platform]) -> None:
    assert korean(built(haproxy(tmp_path, canary=CANARY_COMMAND, map_file="/etc/haproxy/canary.map"))) == [
        "런타임 API /run/haproxy/admin.sock: 서버 be_ion/canary의 가중치를 0으로",
        "맵 /etc/haproxy/canary.map 비우기 (테스터 경로 없음)",
        "`show servers state`로 가중치를 다시 읽어 확인",
        "카나리 프로세스 중지 (pid 실행 중 아님)",
    ]


async def test_kubernetes_plan_in_korean(tmp_path: Path, built: Callable[[Platform], Platform]) -> None:
    assert korean(built(kubernetes(tmp_path))) == [
        "gateway-api: 트래픽 100%를 Service ion-api(으)로, canaria의 테스터 규칙 제거",
        "Deployment ion-api-canary, Service ion-api-canary 삭제",
        "Deployment ion-api은(는) 그대로 둠",
    ]
    assert korean(built(kubernetes(tmp_path, router="replicas", keep=True)))[:2] == [
        "replicas: 트래픽 100%를 Service ion-api(으)로, canaria의 테스터 규칙 제거",
        "Deployment ion-api-canary의 레플리카를 0으로 (객체는 남김)",
    ]


async def test_cloudrun_plan_in_korean(fake: CloudRunEmulator, tmp_path: Path,
                                       built: Callable[[Platform], Platform]) -> None:
    platform = built(CloudRunPlatform(cloudrun_config(fake, tmp_path, tag="preview")))
    assert korean(platform) == [
        "서비스 projects/my-project/locations/asia-northeast3/services/ion-api 읽기",
        "트래픽 쓰기: 100%를 기존 버전 리비전으로 (이름으로 고정), 태그 preview 제거, 다른 태그는 유지",
        "traffic_statuses에 반영될 때까지 대기 (observed_generation 따라잡음, 조정 중 아님)",
        "카나리 리비전은 남음 (Cloud Run은 리비전을 보관). 서비스 템플릿의 이미지는 그대로",
    ]


def test_rollback_dry_run_lang_ko_prints_the_proxy_plan_in_korean(tmp_path: Path) -> None:
    """End to end through the CLI: the plan needs no running nginx (nothing is changed)."""
    (tmp_path / "canaria.yaml").write_text(
        "service: ion-api\nstate_dir: ./state\nplatform:\n  kind: nginx\n"
        "  stable: {url: 'http://127.0.0.1:9101'}\n  canary: {url: 'http://127.0.0.1:9102'}\n"
        "  nginx: {upstream_file: ./ion-api.conf, upstream_name: ion_api}\n", encoding="utf-8")
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "canaria", "rollback", "--dry-run", "--lang", "ko"],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"1. {tmp_path / 'ion-api.conf'} 다시 쓰기: upstream ion_api의 카나리 서버를 down으로" in result.stdout
    assert "2. `nginx -t` 실행, 통과할 때만 `nginx -s reload`" in result.stdout
    assert not (tmp_path / "ion-api.conf").exists()  # a dry run writes nothing
