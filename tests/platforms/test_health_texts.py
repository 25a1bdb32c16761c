"""`canaria check`'s health lines (`stable: GET /health`) from every backend: English word for word what they
always said (`check --json` and the record keep it), and Korean for `check --lang ko`.

The local and nginx backends ask real origin processes on loopback; Kubernetes and Cloud Run their emulators."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from canaria.config import CanariaConfig, parse_config
from canaria.errors import InfrastructureError
from canaria.i18n.text import render
from canaria.platforms.base import HealthResult
from canaria.platforms.cloudrun import CloudRunPlatform
from canaria.platforms.kubernetes import KubernetesPlatform
from canaria.platforms.local import LocalPlatform
from canaria.platforms.nginx import NginxPlatform
from canaria.platforms.processes import free_port
from tests.emulators.cloudrun import CloudRunEmulator, ImageBehaviour
from tests.emulators.kubernetes import KubernetesEmulator
from tests.platforms.cloudrun_harness import CANARY_IMAGE, cloudrun_data, fake
from tests.platforms.kubernetes_setup import kubernetes_platform_config, seed_user_cluster

from .proxy_fixtures import Processes, as_config, nginx_config, processes, start_nginx

__all__ = ["fake", "processes"]

Cases = dict[str, HealthResult]
CRASHED = ("Revision '{revision}' is not ready and cannot serve traffic. The user-provided container failed to start "
           "and listen on the port defined provided by the PORT=8080 environment variable within the allocated "
           "timeout. Container called exit(1).")


def english(results: Cases) -> dict[str, str]:
    """The English lines; a result with a text must say in English exactly what its `detail` (the JSON) says."""
    lines = {case: result.detail for case, result in results.items()}
    assert {case: render(r.text, "en") for case, r in results.items() if r.text} == \
        {case: lines[case] for case, r in results.items() if r.text}
    return lines


def korean(results: Cases) -> dict[str, str]:
    """What `check --lang ko` shows: every result must carry a text (no English left under `--lang ko`)."""
    assert [case for case, result in results.items() if not result.text] == []
    return {case: render(result.text, "ko") for case, result in results.items()}


async def local_cases(tmp_path: Path, processes: Processes) -> tuple[Cases, str, str]:
    good, failing = processes.origin("stable"), processes.origin("canary", error_rate=1.0)
    silent = f"127.0.0.1:{free_port()}"
    platform = LocalPlatform(parse_config(yaml.safe_dump({
        "service": "svc", "state_dir": str(tmp_path / "state"),
        "gateway": {"listen": f"127.0.0.1:{free_port()}", "admin_listen": f"127.0.0.1:{free_port()}"},
        "platform": {"stable": {"url": f"http://{good.address}"}, "canary": {"url": f"http://{failing.address}"}}})))
    config = parse_config(yaml.safe_dump({
        "service": "lone", "state_dir": str(tmp_path / "state"),
        "gateway": {"listen": f"127.0.0.1:{free_port()}", "admin_listen": f"127.0.0.1:{free_port()}"},
        "platform": {"stable": {"url": f"http://{silent}"}, "canary": {"url": f"http://{silent}"}}}))
    # a config built in code (the demo's, a library user's) may leave the canary out: the file cannot
    lone = LocalPlatform(config.model_copy(update={"platform": config.platform.model_copy(update={"canary": None})}))
    try:
        cases = {"ok": await platform.health("stable"), "500": await platform.health("canary", detailed=True),
                 "unreachable": await lone.health("stable"), "no upstream": await lone.health("canary")}
    finally:
        await platform.close()
        await lone.close()
    return cases, good.address, silent


async def test_local_health_in_english_is_unchanged(tmp_path: Path, processes: Processes) -> None:
    cases, good, silent = await local_cases(tmp_path, processes)
    failing = cases["500"]
    assert failing.status == 500 and not failing.ok
    lines = english(cases)
    assert lines["ok"] == f"http://{good}/health → 200"
    assert lines["500"].endswith("/health/detailed → 500") and lines["500"].startswith("http://127.0.0.1:")
    assert lines["unreachable"] == f"http://{silent}/health: ConnectError All connection attempts failed"
    assert lines["no upstream"] == "no upstream configured"


async def nginx_cases(tmp_path: Path, processes: Processes) -> tuple[Cases, list[str], str]:
    first, second, canary = processes.origin("stable"), processes.origin("stable2"), processes.origin("canary")
    failing = processes.origin("failing", error_rate=1.0)
    nginx = start_nginx(tmp_path, processes, [first.address, second.address], [canary.address])
    silent = f"127.0.0.1:{free_port()}"
    cases: Cases = {}
    for case, urls, detailed in (("ok", [first.address, second.address], False),
                                 ("failures", [failing.address, silent, first.address], True)):
        data = nginx_config(nginx, first, canary, tmp_path)
        data["platform"]["stable"] = {"urls": [f"http://{address}" for address in urls]}
        platform = NginxPlatform(as_config(data))
        try:
            cases[case] = await platform.health("stable", detailed=detailed)
        finally:
            await platform.close()
    return cases, [failing.address, silent], first.address


async def test_nginx_health_in_english_is_unchanged(tmp_path: Path, processes: Processes) -> None:
    cases, (failing, silent), _ = await nginx_cases(tmp_path, processes)
    assert english(cases) == {
        "ok": "2 server(s) /health → 200",
        "failures": f"http://{failing}/health/detailed → 500; http://{silent}/health/detailed: ConnectError All "
                    "connection attempts failed"}


async def kubernetes_cases(processes: Processes) -> tuple[Cases, str, str]:
    origin, silent = processes.origin("stable"), f"127.0.0.1:{free_port()}"
    cases: Cases = {}
    with KubernetesEmulator() as emulator:
        seed_user_cluster(emulator)
        for case, extra in (("pods", {}), ("url", {"stable": {"url": f"http://{origin.address}"},
                                                   "canary": {"url": f"http://{silent}"}})):
            platform = KubernetesPlatform(CanariaConfig.model_validate({
                "service": "ion-api", "platform": kubernetes_platform_config(emulator) | extra}))
            try:
                if case == "pods":
                    cases["ready"] = await platform.health("stable")
                    cases["not found"] = await platform.health("canary")
                else:
                    cases["http"] = await platform.health("stable")
                    cases["unreachable"] = await platform.health("canary")
            finally:
                await platform.close()
    return cases, origin.address, silent


async def test_kubernetes_health_in_english_is_unchanged(processes: Processes) -> None:
    cases, _, _ = await kubernetes_cases(processes)
    assert english(cases) == {
        "ready": "2/2 pods Ready (readiness probes; no URL configured)",
        "not found": "Deployment ion-api-canary not found",
        "http": "HTTP 200",
        "unreachable": "ConnectError: All connection attempts failed"}


async def cloudrun_cases(fake: CloudRunEmulator, tmp_path: Path) -> tuple[Cases, str, str, str]:
    fake.model.images[CANARY_IMAGE] = ImageBehaviour()
    platform = CloudRunPlatform(parse_config(yaml.safe_dump(cloudrun_data(fake, tmp_path / "state"))))
    try:
        cases = {"no canary": await platform.health("canary")}
        await platform.start_canary()
        cases["ready"] = await platform.health("canary")
        cases["stable"] = await platform.health("stable")
        info = await platform.describe()
        await platform.rollback()
        fake.model.images[CANARY_IMAGE] = ImageBehaviour(startup="crash")
        with pytest.raises(InfrastructureError):
            await platform.start_canary()
        cases["crashed"] = await platform.health("canary")
        crashed = (await platform.describe())["canary"].revision
    finally:
        await platform.close()
    return cases, str(info["stable"].revision), str(info["canary"].revision), str(crashed)


async def test_cloudrun_health_in_english_is_unchanged(fake: CloudRunEmulator, tmp_path: Path) -> None:
    cases, stable, canary, crashed = await cloudrun_cases(fake, tmp_path)
    assert english(cases) == {
        "no canary": "no canary revision yet",
        "ready": f"revision {canary} Ready (Cloud Run's own probes)",
        "stable": f"revision {stable} Ready (Cloud Run's own probes)",
        "crashed": f"revision {crashed} not Ready: {CRASHED.format(revision=crashed)}"}


async def test_local_health_in_korean(tmp_path: Path, processes: Processes) -> None:
    cases, good, silent = await local_cases(tmp_path, processes)
    lines = korean(cases)
    failing = cases["500"].detail.removesuffix(" → 500")
    assert lines == {
        "ok": f"http://{good}/health 응답 200",
        "500": f"{failing} 응답 500",
        "unreachable": f"http://{silent}/health 요청 실패: ConnectError All connection attempts failed",
        "no upstream": "설정된 업스트림이 없습니다"}


async def test_nginx_health_in_korean(tmp_path: Path, processes: Processes) -> None:
    cases, (failing, silent), _ = await nginx_cases(tmp_path, processes)
    assert korean(cases) == {
        "ok": "서버 2대 모두 /health 응답 200",
        "failures": f"http://{failing}/health/detailed 응답 500; http://{silent}/health/detailed 요청 실패: "
                    "ConnectError All connection attempts failed"}  # httpx's own words, as it says them


async def test_kubernetes_health_in_korean(processes: Processes) -> None:
    cases, _, _ = await kubernetes_cases(processes)
    assert korean(cases) == {
        "ready": "파드 2/2개 준비됨 (readiness 프로브 기준; URL 설정 없음)",
        "not found": "Deployment ion-api-canary을(를) 찾을 수 없습니다",
        "http": "HTTP 200 응답",
        "unreachable": "요청 실패(ConnectError): All connection attempts failed"}


async def test_cloudrun_health_in_korean(fake: CloudRunEmulator, tmp_path: Path) -> None:
    cases, stable, canary, crashed = await cloudrun_cases(fake, tmp_path)
    assert korean(cases) == {
        "no canary": "아직 카나리 리비전이 없습니다",
        "ready": f"리비전 {canary} 준비됨 (Cloud Run 자체 프로브 기준)",
        "stable": f"리비전 {stable} 준비됨 (Cloud Run 자체 프로브 기준)",
        "crashed": f"리비전 {crashed} 준비 안 됨: {CRASHED.format(revision=crashed)}"}  # Cloud Run's own words


pytestmark = pytest.mark.integration
