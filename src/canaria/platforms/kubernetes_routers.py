"""How traffic is split on Kubernetes: one small router per `router.kind` (Flagger's pkg/router habit).

- `gateway-api`: the user's HTTPRoute; applied when every parent reports `Accepted` True with
  `observedGeneration ≥ metadata.generation` (Flagger's check), so a weight is never taken as live before the
  gateway controller has seen it.
- `istio`: the user's VirtualService, host-based: the canary Service is a second destination host, so the
  user's DestinationRule (TLS, outlier detection, subsets) is left untouched; the tester route goes first,
  because Istio evaluates http routes in order. Istio reports per-generation status only when istiod's
  status reporting is on; without it a written VirtualService counts as applied, and the detail says so.
- `replicas`: no mesh or gateway. Canary pods carry the labels the stable Service selects, so the split is the
  share of Ready pods behind the one Service: approximate, and said so in every status.

Writes are read-modify-write with the resourceVersion read (409 → read again), never a blind overwrite.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from canaria.errors import ConfigError
from canaria.i18n.text import msg
from canaria.platforms.base import RouteState, RouteStatus, TesterMatch
from canaria.platforms.kubernetes_client import KubeApi, NotFound
from canaria.platforms.kubernetes_routes import (
    RouteShapeError,
    httproute_stable_rules,
    httproute_tester_match,
    httproute_weight,
    httproute_with_split,
    virtualservice_stable_routes,
    virtualservice_tester_match,
    virtualservice_weight,
    virtualservice_with_split,
)

__all__ = ["Router", "GatewayApiRouter", "IstioRouter", "ReplicasRouter", "create_router"]

Obj = dict[str, Any]
_ORIGINAL_WEIGHT = "canaria.dev/stable-weight"


class Router(ABC):
    kind: str = "?"
    supports_match = True
    approximate = False

    def __init__(self, api: KubeApi, *, service: str, canary_service: str, object_name: str) -> None:
        self.api, self.service, self.canary_service, self.object_name = api, service, canary_service, object_name

    @abstractmethod
    async def prepare(self) -> dict[str, Any]:
        """Check the routing object exists and sends to the stable Service; say what was found (a catalogue
        text: `canaria check` shows it in the reader's language)."""

    @abstractmethod
    async def set(self, weight: float, match: TesterMatch | None) -> None:
        """Write the split (and tester route)."""

    @abstractmethod
    async def verify(self) -> RouteStatus:
        """Read back what the data plane applies."""

    def describe_plan(self, weight: float) -> str:
        return f"{self.kind}: {self.object_name} → {100 - weight:g}% {self.service}, {weight:g}% {self.canary_service}"


class GatewayApiRouter(Router):
    kind = "gateway-api"

    async def _route(self) -> Obj:
        try:
            return await self.api.get("HTTPRoute", self.object_name)
        except NotFound:
            raise ConfigError(f"HTTPRoute {self.api.namespace}/{self.object_name} not found",
                              field="platform.kubernetes.router.httproute", key="error.platform.object_missing",
                              params={"kind": "HTTPRoute", "name": f"{self.api.namespace}/{self.object_name}"}
                              ) from None

    async def prepare(self) -> dict[str, Any]:
        route = await self._route()
        rules = httproute_stable_rules(route.get("spec") or {}, self.service)
        if not rules:
            raise ConfigError(f"HTTPRoute {self.object_name} has no rule with a backendRef to Service {self.service}",
                              field="platform.kubernetes.router.service", key="error.kubernetes.no_rule",
                              params={"name": self.object_name, "service": self.service})
        return msg("check.kubernetes.httproute", name=self.object_name, rules=len(rules), service=self.service)

    async def set(self, weight: float, match: TesterMatch | None) -> None:
        await self._route()

        def change(route: Obj) -> Obj | None:
            annotations = route["metadata"].setdefault("annotations", {})
            spec = route.get("spec") or {}
            if _ORIGINAL_WEIGHT not in annotations:
                rules = spec.get("rules") or []
                index = httproute_stable_rules(spec, self.service)
                refs = rules[index[0]]["backendRefs"] if index else []
                annotations[_ORIGINAL_WEIGHT] = str(next((ref.get("weight", 1) for ref in refs
                                                          if ref.get("name") == self.service), 1))
            original = int(annotations[_ORIGINAL_WEIGHT])
            try:
                new_spec = httproute_with_split(spec, service=self.service, canary_service=self.canary_service,
                                                weight=weight, match=match, original_weight=original)
            except RouteShapeError as exc:
                raise ConfigError(f"HTTPRoute {self.object_name}: {exc}",
                                  field="platform.kubernetes.router.service") from exc
            if weight <= 0 and match is None:
                annotations.pop(_ORIGINAL_WEIGHT, None)
            if new_spec == spec and annotations == (route["metadata"].get("annotations") or {}):
                return None
            route["spec"] = new_spec
            route.pop("status", None)
            return route

        await self.api.update_with_retry("HTTPRoute", self.object_name, change)

    async def verify(self) -> RouteStatus:
        route = await self._route()
        spec, generation = route.get("spec") or {}, int(route["metadata"].get("generation", 0))
        weight = httproute_weight(spec, service=self.service, canary_service=self.canary_service)
        match = httproute_tester_match(spec)
        parents = (route.get("status") or {}).get("parents") or []
        waiting = []
        for ref in spec.get("parentRefs") or []:
            entry = next((p for p in parents if (p.get("parentRef") or {}).get("name") == ref.get("name")), None)
            accepted = next((c for c in (entry or {}).get("conditions") or [] if c.get("type") == "Accepted"), None)
            if accepted is None:
                waiting.append(f"{ref.get('name')}: no Accepted condition yet")
            elif int(accepted.get("observedGeneration", 0)) < generation:
                waiting.append(f"{ref.get('name')}: Accepted for generation {accepted.get('observedGeneration')}, "
                               f"not yet {generation}")
            elif accepted.get("status") != "True":
                waiting.append(f"{ref.get('name')}: not accepted ({accepted.get('reason')}: "
                               f"{accepted.get('message', '')})")
            resolved = next((c for c in (entry or {}).get("conditions") or [] if c.get("type") == "ResolvedRefs"),
                            None)
            if resolved is not None and resolved.get("status") == "False" \
                    and int(resolved.get("observedGeneration", generation)) >= generation \
                    and self.canary_service in str(resolved.get("message", "")):
                # accepted, but the canary Service cannot be resolved: its share would fail (ResolvedRefs is
                # route-wide, so a backend of the user's other rules does not hold the stage back)
                waiting.append(f"{ref.get('name')}: backends not resolved ({resolved.get('reason')}: "
                               f"{resolved.get('message', '')})")
        if waiting:
            return RouteStatus("pending", weight=weight, match=match,
                               detail=f"HTTPRoute {self.object_name} generation {generation}: " + "; ".join(waiting))
        return RouteStatus("applied", weight=weight, match=match,
                           detail=f"HTTPRoute {self.object_name} generation {generation} accepted by "
                                  f"{len(spec.get('parentRefs') or [])} parent(s)")


class IstioRouter(Router):
    kind = "istio"
    asked: TesterMatch | None = None

    async def _virtualservice(self) -> Obj:
        try:
            return await self.api.get("VirtualService", self.object_name)
        except NotFound:
            raise ConfigError(f"VirtualService {self.api.namespace}/{self.object_name} not found",
                              field="platform.kubernetes.router.virtualservice", key="error.platform.object_missing",
                              params={"kind": "VirtualService", "name": f"{self.api.namespace}/{self.object_name}"}
                              ) from None

    async def prepare(self) -> dict[str, Any]:
        vs = await self._virtualservice()
        routes = virtualservice_stable_routes(vs.get("spec") or {}, self.service)
        if not routes:
            raise ConfigError(f"VirtualService {self.object_name} has no http route to host {self.service}",
                              field="platform.kubernetes.router.service", key="error.kubernetes.no_route",
                              params={"name": self.object_name, "service": self.service})
        return msg("check.kubernetes.virtualservice", name=self.object_name, routes=len(routes), service=self.service)

    async def set(self, weight: float, match: TesterMatch | None) -> None:
        await self._virtualservice()
        self.asked = match

        def change(vs: Obj) -> Obj | None:
            spec = vs.get("spec") or {}
            try:
                new_spec = virtualservice_with_split(spec, service=self.service, canary_service=self.canary_service,
                                                     weight=weight, match=match)
            except RouteShapeError as exc:
                raise ConfigError(f"VirtualService {self.object_name}: {exc}",
                                  field="platform.kubernetes.router.service") from exc
            if new_spec == spec:
                return None
            vs["spec"] = new_spec
            vs.pop("status", None)
            return vs

        await self.api.update_with_retry("VirtualService", self.object_name, change)

    async def verify(self) -> RouteStatus:
        vs = await self._virtualservice()
        spec, generation = vs.get("spec") or {}, int(vs["metadata"].get("generation", 0))
        weight = virtualservice_weight(spec, service=self.service, canary_service=self.canary_service)
        match = virtualservice_tester_match(spec)
        if match and self.asked and match.header and self.asked.header and match.value == self.asked.value \
                and match.header == self.asked.header.lower():
            match = self.asked  # Istio wants header names in lower case; HTTP header names are case-insensitive
        observed = (vs.get("status") or {}).get("observedGeneration")
        if observed is None:
            return RouteStatus("applied", weight=weight, match=match,
                               detail=f"VirtualService {self.object_name} generation {generation} written; istiod "
                                      "reports no status (enable its status reporting to verify distribution)")
        if int(observed) < generation:
            return RouteStatus("pending", weight=weight, match=match,
                               detail=f"VirtualService {self.object_name}: istiod has seen generation {observed}, "
                                      f"not yet {generation}")
        return RouteStatus("applied", weight=weight, match=match,
                           detail=f"VirtualService {self.object_name} generation {generation} reconciled by istiod")


class ReplicasRouter(Router):
    """The weight is the canary's share of Ready pods behind the stable Service."""

    kind = "replicas"
    supports_match = False
    approximate = True

    def __init__(self, api: KubeApi, *, service: str, canary_service: str, object_name: str,
                 stable_deployment: str, canary_deployment: str) -> None:
        super().__init__(api, service=service, canary_service=canary_service, object_name=object_name)
        self.stable_deployment, self.canary_deployment = stable_deployment, canary_deployment
        self.asked = 0.0

    async def prepare(self) -> dict[str, Any]:
        return msg("check.kubernetes.replicas", service=self.service)

    @staticmethod
    def canary_replicas(stable_replicas: int, weight: float) -> int:
        """Pods so that canary / (stable + canary) comes closest to `weight`, at least one above 0 %."""
        if weight <= 0:
            return 0
        if weight >= 100:
            return max(1, stable_replicas)
        wanted = stable_replicas * weight / (100 - weight)
        return max(1, min(stable_replicas, math.floor(wanted + 0.5)))

    async def set(self, weight: float, match: TesterMatch | None) -> None:
        stable = await self.api.get("Deployment", self.stable_deployment)
        replicas = self.canary_replicas(int(stable["spec"].get("replicas", 1)), weight)
        self.asked = weight
        await self.api.scale("Deployment", self.canary_deployment, replicas)

    async def verify(self) -> RouteStatus:
        stable = await self.api.get("Deployment", self.stable_deployment)
        canary = await self.api.find("Deployment", self.canary_deployment)
        stable_ready = int((stable.get("status") or {}).get("readyReplicas", 0))
        if canary is None:
            return RouteStatus("applied", weight=0.0, approximate=True,
                               detail=f"replicas: no canary; {stable_ready} stable pod(s)")
        wanted = int(canary["spec"].get("replicas", 0))
        status = canary.get("status") or {}
        ready = int(status.get("readyReplicas", 0))
        total = stable_ready + ready
        weight = 100.0 * ready / total if total else 0.0
        detail = (f"replicas (approximate): {ready} canary of {total} Ready pod(s) ≈ {weight:.0f}% "
                  f"(asked {self.asked:g}%)")
        current = int(status.get("observedGeneration", 0)) >= int(canary["metadata"].get("generation", 0))
        state: RouteState = "applied" if current and ready == wanted else "pending"
        return RouteStatus(state, weight=weight, approximate=True, detail=detail)


def create_router(kind: str, api: KubeApi, *, service: str, canary_service: str, httproute: str,
                  virtualservice: str, stable_deployment: str, canary_deployment: str) -> Router:
    if kind == "gateway-api":
        return GatewayApiRouter(api, service=service, canary_service=canary_service, object_name=httproute)
    if kind == "istio":
        return IstioRouter(api, service=service, canary_service=canary_service, object_name=virtualservice)
    if kind == "replicas":
        return ReplicasRouter(api, service=service, canary_service=canary_service, object_name=service,
                              stable_deployment=stable_deployment, canary_deployment=canary_deployment)
    raise ConfigError(f"unknown router kind {kind}", field="platform.kubernetes.router.kind")
