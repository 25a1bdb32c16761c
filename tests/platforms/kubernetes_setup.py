"""Shared set-up for the Kubernetes backend tests: a user's cluster in the emulator, and a platform on it."""

from __future__ import annotations

from typing import Any

from tests.emulators.kubernetes import (
    KubernetesEmulator,
    deployment,
    gateway,
    httproute,
    service,
    virtualservice,
)
from tests.emulators.kubernetes.objects import destinationrule


def seed_user_cluster(emulator: KubernetesEmulator, *, router: str = "gateway-api", replicas: int = 2,
                      image: str = "registry.example/ion-api:1.0") -> None:
    """What a user has before canaria: Deployment + Service ion-api, and the router's object."""
    emulator.seed(deployment(image=image, replicas=replicas), service())
    if router == "gateway-api":
        emulator.seed(gateway(), httproute(extra_rules=[_other_rule()]))
    elif router == "istio":
        emulator.seed(virtualservice(), destinationrule())
    emulator.wait_for(lambda: (emulator.get("Deployment", "ion-api").get("status") or {}).get("readyReplicas")
                      == replicas, what="the stable Deployment ready")


def _other_rule() -> dict[str, Any]:
    return {"name": "docs", "matches": [{"path": {"type": "PathPrefix", "value": "/docs"}}],
            "backendRefs": [{"name": "docs", "port": 80}]}


def kubernetes_platform_config(emulator: KubernetesEmulator, *, router: str | dict[str, Any] = "gateway-api",
                               image: str = "registry.example/ion-api:2.0", **extra: Any) -> dict[str, Any]:
    """The `platform:` section of canaria.yaml for the emulated cluster (`router`: a kind or the whole section)."""
    router_section = router if isinstance(router, dict) else {
        "kind": router, "httproute": "ion-api", "virtualservice": "ion-api", "service": "ion-api"}
    return {"kind": "kubernetes",
            "kubernetes": {"kubeconfig": str(emulator.kubeconfig), "namespace": "default", "deployment": "ion-api",
                           "image": image, "router": router_section, "ready_timeout": "20s",
                           "rollout_timeout": "20s"} | extra}
