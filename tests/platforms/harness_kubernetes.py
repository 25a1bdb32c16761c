"""The contract suite's Kubernetes harness: the API emulator with its simulated cluster and gateway.

No API server can run here, so the data plane is the emulated gateway: `served_share` reads the HTTPRoute spec the
gateway last *accepted* (not what canaria wrote) and computes the canary's share with the emulator's own rule
matching (tests/emulators/kubernetes/dataplane.py), independent of canaria's route code. A failed write is an RBAC
denial (403) of HTTPRoute updates. The version of a variant is its Deployment's image tag.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from canaria.config import CanariaConfig
from canaria.platforms import create_platform
from canaria.platforms.base import Platform, TesterMatch
from tests.emulators.kubernetes import KubernetesEmulator
from tests.emulators.kubernetes.dataplane import backend_shares
from tests.platforms.harness import Harness, harness
from tests.platforms.kubernetes_setup import kubernetes_platform_config, seed_user_cluster


@dataclass
class KubernetesHarness:
    platform: Platform
    emulator: KubernetesEmulator

    async def served_share(self, *, requests: int = 200, match: TesterMatch | None = None) -> float:
        assert self.emulator.cluster is not None
        self.emulator.wait_for(self._accepted, what="the gateway to accept the route's generation")
        spec = self.emulator.cluster.applied_routes[("default", "ion-api")]
        headers: dict[str, str] = {}
        if match is not None and match.header:
            headers[match.header] = match.value
        if match is not None and match.cookie:
            headers["Cookie"] = f"{match.cookie}={match.value}"
        return 100.0 * backend_shares(spec, headers=headers).get("ion-api-canary", 0.0)

    def _accepted(self) -> bool:
        route = self.emulator.get("HTTPRoute", "ion-api")
        generation = route["metadata"]["generation"]
        return all(condition.get("observedGeneration", 0) >= generation
                   for parent in (route.get("status") or {}).get("parents") or []
                   for condition in parent["conditions"] if condition["type"] == "Accepted")

    @contextlib.contextmanager
    def break_writes(self) -> Iterator[None]:
        self.emulator.faults.forbid("update", "httproutes")
        try:
            yield
        finally:
            self.emulator.faults.allow_all()

    def version_of(self, variant: str) -> str:
        name = "ion-api" if variant == "stable" else "ion-api-canary"
        image = self.emulator.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]["image"]
        return str(image).rsplit(":", 1)[-1]


@harness("kubernetes")
@contextlib.asynccontextmanager
async def kubernetes_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    with KubernetesEmulator() as emulator:
        seed_user_cluster(emulator, image="registry.example/ion-api:v1")
        config = CanariaConfig.model_validate({
            "service": "ion-api", "state_dir": str(tmp_path / "state"),
            "platform": kubernetes_platform_config(emulator, image="registry.example/ion-api:v2")
            | {"verify_timeout": "5s"}})
        platform = create_platform(config, owned=True)
        try:
            await platform.ensure_stable()
            await platform.start_canary()
            yield KubernetesHarness(platform, emulator)
        finally:
            await platform.close()
