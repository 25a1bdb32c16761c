"""`canaria check`'s Kubernetes and Cloud Run lines against their emulators (real lightkube and Google clients over
HTTP): English word for word what they always said (`check --json` and the record keep it), and Korean for
`check --lang ko`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from canaria.config import CanariaConfig, parse_config
from canaria.i18n.check_names import check_name
from canaria.platforms.base import PlatformCheck
from canaria.platforms.cloudrun import CloudRunPlatform
from canaria.platforms.kubernetes import KubernetesPlatform
from tests.emulators.cloudrun import CloudRunEmulator, ImageBehaviour
from tests.emulators.kubernetes import KubernetesEmulator, deployment, gateway, httproute, service, virtualservice
from tests.platforms.cloudrun_harness import CANARY_IMAGE, PROJECT, REGION, SERVICE, cloudrun_data, fake
from tests.platforms.kubernetes_setup import kubernetes_platform_config, seed_user_cluster

from .check_texts import english, shown, untranslated

__all__ = ["fake"]

NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"
IDENTITY = ("workload identity federation (//iam.googleapis.com/projects/123456789/locations/global/"
            f"workloadIdentityPools/ci/providers/{PROJECT})")
PERMISSIONS = "run.services.get, run.services.update, run.revisions.get, run.revisions.list, run.operations.get"
RBAC_DENIED = ("platform.kubernetes: the Kubernetes identity may not delete deployments ion-api-canary in namespace "
               "default (apply deploy/kubernetes/rbac.yaml)")


async def kubernetes_cases() -> dict[str, list[PlatformCheck]]:
    cases: dict[str, list[PlatformCheck]] = {}
    for router in ("gateway-api", "istio", "replicas"):
        with KubernetesEmulator() as emulator:
            seed_user_cluster(emulator, router=router)
            platform = KubernetesPlatform(CanariaConfig.model_validate({
                "service": "ion-api", "platform": kubernetes_platform_config(emulator, router=router)}))
            try:
                cases[router] = await platform.checks()
                emulator.faults.forbid("delete", "deployments")
                cases[f"{router} denied"] = await platform.checks()
            finally:
                await platform.close()
    selectorless = service()
    del selectorless["spec"]["selector"]
    for case, router, objects in (
            ("empty cluster", "gateway-api", []),
            ("no rule", "gateway-api", [service(), gateway(), httproute(service_name="elsewhere")]),
            ("no route", "istio", [service(), virtualservice(host="elsewhere")]),
            ("no selector", "gateway-api", [selectorless, gateway(), httproute()])):
        with KubernetesEmulator() as emulator:
            if objects:
                emulator.seed(deployment(), *objects)
            platform = KubernetesPlatform(CanariaConfig.model_validate({
                "service": "ion-api", "platform": kubernetes_platform_config(emulator, router=router)}))
            try:
                cases[case] = await platform.checks()
            finally:
                await platform.close()
    return cases


async def test_kubernetes_lines_in_english_are_unchanged() -> None:
    cases = await kubernetes_cases()
    assert english(cases["gateway-api"]) == {
        "kubernetes objects": "Deployment ion-api, Service ion-api, HTTPRoute ion-api: 1 rule(s) send to Service ion-api",
        "stable Deployment available": "2/2 Ready",
        "kubernetes RBAC": "17 verbs granted",
    }
    assert english(cases["istio"])["kubernetes objects"] == ("Deployment ion-api, Service ion-api, VirtualService "
                                                             "ion-api: 1 http route(s) send to ion-api")
    assert english(cases["replicas"]) == {
        "kubernetes objects": "Deployment ion-api, Service ion-api, replicas: the split follows pod counts behind "
                              "Service ion-api (approximate)",
        "stable Deployment available": "2/2 Ready",
        "kubernetes RBAC": "15 verbs granted",
        "traffic split": "replicas router: weights are approximated by pod counts",
    }
    assert english(cases["gateway-api denied"]) == {"kubernetes": RBAC_DENIED}
    assert english(cases["replicas denied"]) == {
        "kubernetes": RBAC_DENIED, "traffic split": "replicas router: weights are approximated by pod counts"}
    assert english(cases["empty cluster"]) == {
        "kubernetes": "platform.kubernetes.deployment: Deployment default/ion-api not found"}
    assert english(cases["no rule"]) == {"kubernetes": "platform.kubernetes.router.service: HTTPRoute ion-api has no "
                                                       "rule with a backendRef to Service ion-api"}
    assert english(cases["no route"]) == {"kubernetes": "platform.kubernetes.router.service: VirtualService ion-api "
                                                        "has no http route to host ion-api"}
    assert english(cases["no selector"]) == {"kubernetes": "platform.kubernetes.router.service: Service ion-api has no "
                                                           "selector"}


async def cloudrun_cases(fake: CloudRunEmulator, tmp_path: Path) -> dict[str, list[PlatformCheck]]:
    async def checks(extra: dict[str, Any] | None = None, **settings: Any) -> list[PlatformCheck]:
        data = cloudrun_data(fake, tmp_path / "state", **settings) | (extra or {})
        platform = CloudRunPlatform(parse_config(yaml.safe_dump(data)))
        try:
            return await platform.checks()
        finally:
            await platform.close()

    fake.model.images[CANARY_IMAGE] = ImageBehaviour()
    testers = {"plan": {"stages": [{"match": {"header": "X-Canary", "value": "1"}, "hold": "1m"},
                                   {"traffic": 50, "hold": "1m"}]}}
    cases = {"good": await checks(), "no image": await checks(image=None), "testers": await checks(testers),
             "no service": await checks(service="nope")}
    platform = CloudRunPlatform(parse_config(yaml.safe_dump(cloudrun_data(fake, tmp_path / "state"))))
    try:
        await platform.start_canary()
    finally:
        await platform.close()
    cases["canary"] = await checks()
    fake.permissions.discard("run.services.update")
    cases["denied"] = await checks()
    (tmp_path / "subject-token.jwt").unlink()
    cases["no token"] = await checks()
    return cases


def revisions(fake: CloudRunEmulator) -> list[str]:
    return [str(status["revision"]) for status in fake.model.services[NAME].statuses]


async def test_cloudrun_lines_in_english_are_unchanged(fake: CloudRunEmulator, tmp_path: Path) -> None:
    cases = await cloudrun_cases(fake, tmp_path)
    stable, canary = revisions(fake)
    lines = english(cases["good"])
    assert lines == {
        "cloudrun: credentials": f"acting as {IDENTITY}",
        "cloudrun: service": f"{NAME} serves revision {stable}",
        "cloudrun: permissions": f"may update the service ({PERMISSIONS})",
    }
    assert english(cases["no image"]) == lines | {
        "cloudrun: canary image": "platform.cloudrun.image is not set: pass --image to run / enable-canary"}
    assert english(cases["testers"]) == lines | {
        "cloudrun: tester route": "Cloud Run has no header routing: the match stage gives the canary 0% and testers "
                                  "use the `canary` tag URL"}
    assert english(cases["no service"]) == {
        "cloudrun: credentials": f"acting as {IDENTITY}",
        "cloudrun: service": f"Cloud Run: reading service projects/{PROJECT}/locations/{REGION}/services/nope "
                             f"failed: 404 NOT_FOUND: Resource 'nope' of kind 'SERVICE' in region '{REGION}' in project "
                             f"'{PROJECT}' does not exist. — check platform.cloudrun.project, region and service"}
    assert english(cases["canary"])["cloudrun: service"] == f"{NAME} serves revision {stable}, canary {canary} (tag canary)"
    assert english(cases["denied"])["cloudrun: permissions"] == (
        "missing run.services.update on the service: grant roles/run.developer (and roles/iam.serviceAccountUser on "
        "its runtime service account)")
    assert english(cases["no token"]) == {
        "cloudrun: credentials": f"{IDENTITY}: Google credentials ({IDENTITY}) could not get a token: File "
                                 f"'{tmp_path / 'subject-token.jwt'}' was not found."}


async def test_kubernetes_lines_in_korean() -> None:
    cases = await kubernetes_cases()
    assert [name for name, checks in cases.items() if untranslated(checks)] == []
    assert shown(cases["gateway-api"], "ko") == {
        "kubernetes objects": "Deployment ion-api, Service ion-api, HTTPRoute ion-api: 규칙 1개가 Service ion-api(으)로 "
                              "보냅니다",
        "stable Deployment available": "2/2 준비됨",
        "kubernetes RBAC": "권한 17개 허용됨",
    }
    assert shown(cases["istio"], "ko")["kubernetes objects"] == ("Deployment ion-api, Service ion-api, VirtualService "
                                                                 "ion-api: http 경로 1개가 ion-api(으)로 보냅니다")
    assert shown(cases["replicas"], "ko") == {
        "kubernetes objects": "Deployment ion-api, Service ion-api, replicas: Service ion-api 뒤의 파드 수로 분할합니다 "
                              "(근사치)",
        "stable Deployment available": "2/2 준비됨",
        "kubernetes RBAC": "권한 15개 허용됨",
        "traffic split": "replicas 라우터: 가중치는 파드 수로 근사합니다",
    }
    denied = ("platform.kubernetes: Kubernetes 계정에 네임스페이스 default의 delete deployments ion-api-canary 권한이 "
              "없습니다 (deploy/kubernetes/rbac.yaml을 적용하세요)")
    assert shown(cases["gateway-api denied"], "ko") == {"kubernetes": denied}
    assert shown(cases["empty cluster"], "ko") == {
        "kubernetes": "platform.kubernetes.deployment: Deployment default/ion-api을(를) 찾을 수 없습니다"}
    assert shown(cases["no rule"], "ko") == {"kubernetes": "platform.kubernetes.router.service: HTTPRoute ion-api에 "
                                                           "Service ion-api(으)로 가는 backendRef 규칙이 없습니다"}
    assert shown(cases["no route"], "ko") == {"kubernetes": "platform.kubernetes.router.service: VirtualService "
                                                            "ion-api에 호스트 ion-api(으)로 가는 http 경로가 없습니다"}
    assert shown(cases["no selector"], "ko") == {"kubernetes": "platform.kubernetes.router.service: Service ion-api에 "
                                                               "selector가 없습니다"}
    assert [check_name(name, "ko") for name in english(cases["replicas"])] == [
        "kubernetes objects", "안정 버전 Deployment 가용", "kubernetes RBAC", "트래픽 분할"]


async def test_cloudrun_lines_in_korean(fake: CloudRunEmulator, tmp_path: Path) -> None:
    cases = await cloudrun_cases(fake, tmp_path)
    stable, canary = revisions(fake)
    assert [name for name, checks in cases.items() if untranslated(checks)] == []
    lines = shown(cases["good"], "ko")
    assert lines == {
        "cloudrun: credentials": f"{IDENTITY}(으)로 인증됨",
        "cloudrun: service": f"{NAME}이(가) 리비전 {stable}을(를) 제공합니다",
        "cloudrun: permissions": f"서비스를 수정할 수 있습니다 ({PERMISSIONS})",
    }
    assert shown(cases["no image"], "ko") == lines | {
        "cloudrun: canary image": "platform.cloudrun.image가 설정되지 않았습니다: run / enable-canary에 --image를 "
                                  "넘기세요"}
    assert shown(cases["testers"], "ko") == lines | {
        "cloudrun: tester route": "Cloud Run에는 헤더 라우팅이 없습니다: match 단계는 카나리에 0%를 주고 테스터는 "
                                  "`canary` 태그 URL을 씁니다"}
    assert shown(cases["canary"], "ko")["cloudrun: service"] == (
        f"{NAME}이(가) 리비전 {stable}, 카나리 {canary}(태그 canary)을(를) 제공합니다")
    assert shown(cases["denied"], "ko")["cloudrun: permissions"] == (
        "서비스에 run.services.update 권한이 없습니다: roles/run.developer를 부여하세요 (런타임 서비스 계정에는 "
        "roles/iam.serviceAccountUser도)")
    assert shown(cases["no token"], "ko") == {
        "cloudrun: credentials": f"{IDENTITY}: Google 자격 증명({IDENTITY})으로 토큰을 받지 못했습니다: File "
                                 f"'{tmp_path / 'subject-token.jwt'}' was not found."}  # Google's reason as it says it
