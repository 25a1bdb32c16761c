"""The Kubernetes backend against the API emulator and its simulated cluster (real lightkube over HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from canaria.config import CanariaConfig
from canaria.controller.clock import SystemClock
from canaria.controller.routing import await_settled
from canaria.errors import ConfigError, PlatformError
from canaria.platforms import base
from canaria.platforms.kubernetes import KubernetesPlatform
from tests.emulators.kubernetes import KubernetesEmulator
from tests.platforms.kubernetes_setup import kubernetes_platform_config, seed_user_cluster

TESTERS = base.TesterMatch(header="X-Canary", value="always")


def make_platform(emulator: KubernetesEmulator, **options: Any) -> KubernetesPlatform:
    config = CanariaConfig.model_validate({"service": "ion-api",
                                           "platform": kubernetes_platform_config(emulator, **options)})
    return KubernetesPlatform(config)


@pytest.fixture
def emulator() -> Iterator[KubernetesEmulator]:
    with KubernetesEmulator() as running:
        yield running


@pytest.fixture
async def gateway_platform(emulator: KubernetesEmulator) -> AsyncIterator[KubernetesPlatform]:
    seed_user_cluster(emulator)
    platform = make_platform(emulator)
    yield platform
    await platform.close()


async def _applied(platform: KubernetesPlatform, timeout: float = 5.0) -> base.RouteStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await platform.verify_route()
        if status.state != "pending" or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.05)


async def test_gateway_api_rollout_promotes_into_the_stable_history(emulator: KubernetesEmulator,
                                                                     gateway_platform: KubernetesPlatform) -> None:
    platform = gateway_platform
    docs_rule = emulator.get("HTTPRoute", "ion-api")["spec"]["rules"][0]
    await platform.ensure_stable()
    await platform.start_canary()
    canary = emulator.get("Deployment", "ion-api-canary")
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/ion-api:2.0"
    canary_service = emulator.get("Service", "ion-api-canary")
    stable_selector = emulator.get("Service", "ion-api")["spec"]["selector"]
    canary_pod_labels = canary["spec"]["template"]["metadata"]["labels"]
    assert not all(canary_pod_labels.get(k) == v for k, v in stable_selector.items()), \
        "the stable Service must not select canary pods"
    assert all(canary_pod_labels.get(k) == v for k, v in canary_service["spec"]["selector"].items())

    await platform.set_route(0, match=TESTERS)
    status = await _applied(platform)
    assert status.state == "applied" and status.match == TESTERS and status.weight == 0
    await platform.set_route(5)
    status = await _applied(platform)
    assert (status.state, status.weight, status.match) == ("applied", 5.0, None)
    route = emulator.get("HTTPRoute", "ion-api")
    assert route["spec"]["rules"][0] == docs_rule, "the user's other rules are never rewritten"
    described = await platform.describe()
    assert described["canary"].image == "registry.example/ion-api:2.0"
    assert described["stable"].image == "registry.example/ion-api:1.0"

    await platform.promote()
    stable = emulator.get("Deployment", "ion-api")
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/ion-api:2.0"
    assert stable["spec"]["template"]["metadata"]["labels"] == {"app": "ion-api"}
    assert emulator.find("Deployment", "ion-api-canary") is None and emulator.find("Service", "ion-api-canary") is None
    assert (await _applied(platform)).weight == 0.0
    assert emulator.get("HTTPRoute", "ion-api")["spec"]["rules"][1]["backendRefs"] == \
        [{"name": "ion-api", "port": 80, "group": "", "kind": "Service", "weight": 1}]
    history = await platform.history()
    assert [revision.name for revision in history] == ["2", "1"]
    assert history[0].image == "registry.example/ion-api:2.0" and "canaria: promoted" in history[0].detail

    answer = await platform.rollback_to_revision("1")
    assert "revision 1" in answer
    image = emulator.get("Deployment", "ion-api")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example/ion-api:1.0"
    assert [revision.name for revision in await platform.history()] == ["3", "2"]


async def test_rollback_leaves_the_stable_deployment_untouched(emulator: KubernetesEmulator,
                                                               gateway_platform: KubernetesPlatform) -> None:
    platform = gateway_platform
    await platform.ensure_stable()
    before = emulator.get("Deployment", "ion-api")
    await platform.start_canary()
    await platform.set_route(10, match=TESTERS)
    await _applied(platform)
    await platform.rollback()
    after = emulator.get("Deployment", "ion-api")
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]
    rules = emulator.get("HTTPRoute", "ion-api")["spec"]["rules"]
    assert len(rules) == 2 and all(ref["name"] != "ion-api-canary" for rule in rules for ref in rule["backendRefs"])
    assert emulator.find("Deployment", "ion-api-canary") is None
    assert not [w for w in emulator.writes() if "/deployments/ion-api?" in w or w.endswith("/deployments/ion-api")]


@pytest.mark.parametrize(("image", "reason"), [("registry.example/ion-api:2.0-crashloop", "CrashLoopBackOff"),
                                               ("registry.example/ion-api:2.0-imagepull", "ImagePull")])
async def test_a_canary_that_cannot_run_is_refused_with_the_reason(emulator: KubernetesEmulator, image: str,
                                                                   reason: str) -> None:
    seed_user_cluster(emulator)
    platform = make_platform(emulator, image=image)
    try:
        await platform.ensure_stable()
        with pytest.raises(PlatformError, match=reason) as caught:
            await platform.start_canary()
        assert "ion-api-canary" in str(caught.value)
        assert await platform.canary_problem() is not None
    finally:
        await platform.close()


@pytest.mark.parametrize(("break_it", "message"), [
    (lambda e: e.store.delete(e.store_type("Deployment"), "default", "ion-api"), "Deployment default/ion-api not found"),
    (lambda e: e.store.delete(e.store_type("Service"), "default", "ion-api"), "Service default/ion-api not found"),
    (lambda e: e.store.delete(e.store_type("HTTPRoute"), "default", "ion-api"), "HTTPRoute default/ion-api not found"),
    (lambda e: e.faults.forbid("update", "httproutes"), "may not update httproutes ion-api"),
])
async def test_bad_setups_fail_with_one_line_and_change_nothing(emulator: KubernetesEmulator, break_it: Any,
                                                                message: str) -> None:
    seed_user_cluster(emulator)
    emulator.store_type = _store_type  # type: ignore[attr-defined]
    break_it(emulator)
    writes = len(emulator.writes())
    platform = make_platform(emulator)
    try:
        with pytest.raises(ConfigError, match=message) as caught:
            await platform.ensure_stable()
        assert caught.value.exit_code == 2 and "\n" not in str(caught.value)
    finally:
        await platform.close()
    assert len(emulator.writes()) == writes


def _store_type(kind: str) -> Any:
    from tests.emulators.kubernetes import resource_type

    return resource_type(kind)


async def test_a_route_that_does_not_reach_the_stable_service_is_a_config_error(emulator: KubernetesEmulator) -> None:
    seed_user_cluster(emulator)
    platform = make_platform(emulator, router={"kind": "gateway-api", "httproute": "ion-api", "service": "ion-web"})
    emulator.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ion-web"},
                   "spec": {"selector": {"app": "ion-api"}, "ports": [{"port": 80}]}})
    try:
        with pytest.raises(ConfigError, match="no rule with a backendRef to Service ion-web"):
            await platform.ensure_stable()
    finally:
        await platform.close()


async def test_an_unreachable_api_server_is_an_infrastructure_error(emulator: KubernetesEmulator,
                                                                   tmp_path: Path) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    platform = make_platform(emulator, request_timeout="2s", kubeconfig=str(kubeconfig))
    emulator.stop()
    try:
        with pytest.raises(PlatformError, match="unreachable") as caught:
            await platform.ensure_stable()
        assert caught.value.exit_code == 1
    finally:
        await platform.close()


async def test_conflict_on_every_third_write_is_survived(emulator: KubernetesEmulator,
                                                         gateway_platform: KubernetesPlatform) -> None:
    platform = gateway_platform
    emulator.faults.conflict_every = 3
    await platform.ensure_stable()
    await platform.start_canary()
    for weight in (5, 10, 50, 0, 25):
        await platform.set_route(weight)
        assert (await _applied(platform)).weight == weight
    await platform.promote()
    assert emulator.faults.conflicts_injected >= 2
    conflicts = [r for r in emulator.api.requests if r.status == 409]
    assert conflicts, "the concurrent writer must have made some updates conflict"
    assert emulator.get("Deployment", "ion-api")["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0")


async def test_slow_gateway_reports_pending_until_it_accepts_the_generation(emulator: KubernetesEmulator,
                                                                          gateway_platform: KubernetesPlatform) -> None:
    platform = gateway_platform
    assert emulator.cluster is not None
    await platform.ensure_stable()
    await platform.start_canary()
    emulator.cluster.route_accept_delay = 0.5
    await platform.set_route(5)
    status = await platform.verify_route()
    assert status.state == "pending" and "not yet" in status.detail
    assert (await _applied(platform)).state == "applied"
    await platform.rollback()  # the canary's Service goes only once the gateway takes the route back to stable
    status = await platform.verify_route()
    assert (status.state, status.weight) == ("applied", 0.0), status
    assert emulator.find("Service", "ion-api-canary") is None


async def test_istio_router_weights_and_tester_route(emulator: KubernetesEmulator) -> None:
    seed_user_cluster(emulator, router="istio")
    rule = emulator.get("DestinationRule", "ion-api")
    platform = make_platform(emulator, router={"kind": "istio", "virtualservice": "ion-api", "service": "ion-api"})
    try:
        await platform.ensure_stable()
        await platform.start_canary()
        await platform.set_route(20, match=TESTERS)
        status = await _applied(platform)
        assert (status.state, status.weight, status.match) == ("applied", 20.0, TESTERS)
        assert "istiod reports no status" in status.detail
        http = emulator.get("VirtualService", "ion-api")["spec"]["http"]
        assert http[0]["name"] == "canaria-testers"
        await platform.rollback()
        assert len(emulator.get("VirtualService", "ion-api")["spec"]["http"]) == 1
        assert emulator.get("DestinationRule", "ion-api")["metadata"]["resourceVersion"] == \
            rule["metadata"]["resourceVersion"]
    finally:
        await platform.close()


async def test_replicas_router_is_approximate_and_says_so(emulator: KubernetesEmulator) -> None:
    seed_user_cluster(emulator, router="replicas", replicas=4)
    platform = make_platform(emulator, router={"kind": "replicas", "service": "ion-api"})
    assert platform.supports_match is False
    try:
        await platform.ensure_stable()
        await platform.start_canary()
        await platform.set_route(20)
        status = await _applied(platform)
        assert status.state == "applied" and status.approximate and "approximate" in status.detail
        assert status.weight == 20.0  # 1 canary pod of 5 Ready pods
        canary_labels = emulator.get("Deployment", "ion-api-canary")["spec"]["template"]["metadata"]["labels"]
        assert canary_labels["app"] == "ion-api", "behind the one Service, the canary pods share its selector"
        await platform.set_route(0, match=TESTERS)
        assert (await _applied(platform)).state == "unsupported"
        await platform.rollback()
        assert emulator.find("Deployment", "ion-api-canary") is None
        settled = await await_settled(platform, SystemClock(), after="rollback", timeout_s=5)
        assert (settled.state, settled.weight) == ("applied", 0.0)  # what the controller waits for
    finally:
        await platform.close()


async def test_restart_and_checks(emulator: KubernetesEmulator, gateway_platform: KubernetesPlatform) -> None:
    platform = gateway_platform
    await platform.start_canary()
    said = await platform.restart("canary")
    assert "ion-api-canary" in said
    template = emulator.get("Deployment", "ion-api-canary")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    lines = await platform.checks()
    assert all(line.ok for line in lines), lines
    emulator.faults.forbid("delete", "deployments")
    failing = await platform.checks()
    assert any(not line.ok and "delete deployments" in line.detail for line in failing)


async def test_a_route_to_a_backend_the_gateway_cannot_resolve_stays_pending(emulator: KubernetesEmulator,
                                                                           gateway_platform: KubernetesPlatform) -> None:
    platform = gateway_platform
    await platform.ensure_stable()
    await platform.start_canary()
    emulator.store.delete(_store_type("Service"), "default", "ion-api-canary")
    await platform.set_route(5)
    status = await _applied(platform, timeout=1.0)
    assert status.state == "pending" and "BackendNotFound" in status.detail
