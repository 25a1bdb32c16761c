"""Kubernetes platform: the user's Deployment and Service are the stable version; canaria adds the canary.

The model is Flagger's, turned so that `kubectl rollout history deployment/<name>` and `kubectl rollout undo`
keep meaning what they meant before canaria: `<deployment>-canary` (the stable template with the new image,
labels of its own) and a Service `<service>-canary` selecting only its pods are created; the router
(`kubernetes_routers.py`) moves the split; promotion rolls the *stable* Deployment to the canary's pod spec
(a new revision in its history), waits for the rollout, routes everything back to stable and deletes the canary;
rollback puts the routing back and deletes (or scales to zero) the canary, never touching the stable Deployment.

Everything is read back from the cluster, so a restarted controller adopts what is there. Before the first
write, `ensure_stable` checks the objects exist, the route sends to the stable Service and the RBAC verbs are
granted, so a bad setup fails with one line and nothing changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import httpx

from canaria.config.platform import KubernetesPlatformConfig
from canaria.errors import ConfigError, PlatformError, UsageError
from canaria.i18n.text import literal, msg, render
from canaria.platforms.base import (
    HealthResult,
    Platform,
    PlatformCheck,
    Revision,
    RouteStatus,
    TesterMatch,
    Variant,
    VersionInfo,
)
from canaria.platforms.check_lines import health_result
from canaria.platforms.kubernetes_checks import KubernetesCheckTarget, kubernetes_checks
from canaria.platforms.kubernetes_client import KubeApi, NotFound
from canaria.platforms.kubernetes_history import find_revision, owned_replicasets, revisions_of
from canaria.platforms.kubernetes_objects import (
    CHANGE_CAUSE_ANNOTATION,
    RESTARTED_ANNOTATION,
    REVISION_ANNOTATION,
    VARIANT_LABEL,
    canary_deployment,
    canary_service,
    container_of,
    event_problem,
    pod_problem,
    promoted_template,
    rollout_complete,
    runs_image,
    template_without_hash,
)
from canaria.platforms.kubernetes_routers import create_router

if TYPE_CHECKING:
    from canaria.config import CanariaConfig

__all__ = ["KubernetesPlatform", "needed_permissions", "ROUTER_RESOURCES"]

Obj = dict[str, Any]
_POLL = 0.25
ROUTER_RESOURCES = {"gateway-api": ("httproutes", "gateway.networking.k8s.io"),
                    "istio": ("virtualservices", "networking.istio.io")}


def needed_permissions(*, stable: str, canary: str, service: str, canary_service: str, router: str,
                       route_object: str) -> list[tuple[str, str, str, str | None]]:
    """(verb, resource, group, name) canaria uses; checked with SelfSubjectAccessReview before any write.
    deploy/kubernetes/rbac.yaml grants exactly these (a test keeps the two in step)."""
    needed: list[tuple[str, str, str, str | None]] = [
        ("get", "deployments", "apps", stable), ("get", "deployments", "apps", canary),
        ("create", "deployments", "apps", None), ("update", "deployments", "apps", stable),
        ("update", "deployments", "apps", canary), ("patch", "deployments", "apps", stable),
        ("patch", "deployments", "apps", canary), ("delete", "deployments", "apps", canary),
        ("list", "replicasets", "apps", None), ("get", "services", "", service), ("get", "services", "", canary_service),
        ("create", "services", "", None), ("delete", "services", "", canary_service),
        ("list", "pods", "", None), ("list", "events", "", None)]
    if router in ROUTER_RESOURCES:
        resource, group = ROUTER_RESOURCES[router]
        needed += [("get", resource, group, route_object), ("update", resource, group, route_object)]
    return needed


class KubernetesPlatform(Platform):
    kind = "kubernetes"

    def __init__(self, config: CanariaConfig, *, owned: bool = False) -> None:
        super().__init__(config, owned=owned)
        if not isinstance(config.platform, KubernetesPlatformConfig):
            raise ConfigError("the kubernetes backend needs platform.kind kubernetes", field="platform.kind")
        self.settings = config.platform
        k8s = self.k8s = config.platform.kubernetes
        self.api = KubeApi(kubeconfig=k8s.kubeconfig, context=k8s.context, namespace=k8s.namespace,
                           timeout=float(k8s.request_timeout))
        self.stable_name = k8s.deployment
        self.canary_name = f"{k8s.deployment}-canary"
        self.service_name = k8s.router.service or k8s.deployment
        self.canary_service_name = f"{self.service_name}-canary"
        self.router = create_router(k8s.router.kind, self.api, service=self.service_name,
                                    canary_service=self.canary_service_name,
                                    httproute=k8s.router.httproute or k8s.deployment,
                                    virtualservice=k8s.router.virtualservice or k8s.deployment,
                                    stable_deployment=self.stable_name, canary_deployment=self.canary_name)
        self.supports_match = self.router.supports_match
        self.ready_timeout = float(k8s.ready_timeout)
        self.rollout_timeout = float(k8s.rollout_timeout)
        self._http = httpx.AsyncClient(timeout=3.0)
        self._asked_match = False  # a tester route was asked of a router that cannot route by header

    # ------------------------------------------------------------ helpers
    def _image(self) -> str:
        image = self.k8s.image
        if not image:
            raise UsageError("no canary image: set platform.kubernetes.image or pass --image")
        return str(image)

    async def _stable(self) -> Obj:
        try:
            return await self.api.get("Deployment", self.stable_name)
        except NotFound:
            raise ConfigError(f"Deployment {self.api.namespace}/{self.stable_name} not found",
                              field="platform.kubernetes.deployment", key="error.platform.object_missing",
                              params={"kind": "Deployment", "name": f"{self.api.namespace}/{self.stable_name}"}
                              ) from None

    async def _stable_service(self) -> Obj:
        try:
            return await self.api.get("Service", self.service_name)
        except NotFound:
            raise ConfigError(f"Service {self.api.namespace}/{self.service_name} not found",
                              field="platform.kubernetes.router.service", key="error.platform.object_missing",
                              params={"kind": "Service", "name": f"{self.api.namespace}/{self.service_name}"}
                              ) from None

    async def _wait(self, what: str, timeout: float, ready: Any) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if await ready():
                return
            if time.monotonic() > deadline:
                raise PlatformError(f"{what} did not happen within {timeout:g}s")
            await asyncio.sleep(_POLL)

    async def _canary_pods(self) -> list[Obj]:
        return await self.api.list("Pod", labels={VARIANT_LABEL: "canary"})

    # ------------------------------------------------------------ lifecycle
    async def ensure_stable(self) -> None:
        missing = [f"{verb} {resource}" + (f" {name}" if name else "") for verb, resource, group, name in self._needed()
                   if not await self.api.can_i(verb, resource, group, name)]
        if missing:
            said = {"missing": ", ".join(missing), "namespace": self.api.namespace}
            raise ConfigError(f"the Kubernetes identity may not {said['missing']} in namespace {said['namespace']} "
                              "(apply deploy/kubernetes/rbac.yaml)", field="platform.kubernetes",
                              key="error.kubernetes.rbac_missing", params=said)
        stable, service = await self._stable(), await self._stable_service()
        try:
            container_of(stable["spec"]["template"], self.k8s.container)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"Deployment {self.stable_name}: {exc}", field="platform.kubernetes.container") from None
        if not (service.get("spec") or {}).get("selector"):
            raise ConfigError(f"Service {self.service_name} has no selector", field="platform.kubernetes.router.service",
                              key="error.kubernetes.no_selector", params={"service": self.service_name})
        await self.router.prepare()

    def _needed(self) -> list[tuple[str, str, str, str | None]]:
        return needed_permissions(stable=self.stable_name, canary=self.canary_name, service=self.service_name,
                                  canary_service=self.canary_service_name, router=self.router.kind,
                                  route_object=self.router.object_name)

    async def start_canary(self) -> None:
        stable, service = await self._stable(), await self._stable_service()
        shared = self.router.kind == "replicas"
        # replicas: one pod proves the image runs (it already takes its share behind the Service); the router
        # scales it per stage. Otherwise the canary gets the stable's capacity, ready for any weight.
        replicas = 1 if shared else int(self.k8s.canary_replicas or stable["spec"].get("replicas", 1) or 1)
        wanted = canary_deployment(stable, name=self.canary_name, image=self._image(), container=self.k8s.container,
                                   replicas=replicas, service_selector=service["spec"]["selector"],
                                   shared_service=shared)
        existing = await self.api.find("Deployment", self.canary_name)
        if existing is None:
            await self.api.create("Deployment", wanted)
        else:
            def refresh(current: Obj) -> Obj | None:
                if template_without_hash(current["spec"]["template"]) == wanted["spec"]["template"] and \
                        current["spec"].get("replicas") == wanted["spec"]["replicas"]:
                    return None
                current["spec"]["template"] = wanted["spec"]["template"]
                current["spec"]["replicas"] = wanted["spec"]["replicas"]
                return current

            await self.api.update_with_retry("Deployment", self.canary_name, refresh)
        if await self.api.find("Service", self.canary_service_name) is None:
            selector = wanted["spec"]["template"]["metadata"]["labels"]
            keys = set(service["spec"]["selector"]) | {VARIANT_LABEL}
            await self.api.create("Service", canary_service(
                service, name=self.canary_service_name, selector={k: v for k, v in selector.items() if k in keys}))
        await self._wait_canary_ready()

    async def _wait_canary_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while True:
            canary = await self.api.get("Deployment", self.canary_name)
            if rollout_complete(canary):
                return
            problems = [found for pod in await self._canary_pods() if (found := pod_problem(pod))]
            fatal = next((text for text, is_fatal in problems if is_fatal), None)
            if fatal or time.monotonic() > deadline:
                reason = fatal or (problems[0][0] if problems else f"not Ready within {self.ready_timeout:g}s")
                raise PlatformError(f"canary Deployment {self.canary_name} is not ready: {reason}"
                                    + await self._events_suffix())
            await asyncio.sleep(_POLL)

    async def _events_suffix(self) -> str:
        events = []
        for pod in await self._canary_pods():
            events += await self.api.list("Event", fields={"involvedObject.name": pod["metadata"]["name"]})
        found = event_problem(events)
        return f" (event {found})" if found else ""

    async def canary_problem(self) -> str | None:
        canary = await self.api.find("Deployment", self.canary_name)
        if canary is None:
            return f"canary Deployment {self.canary_name} is gone"
        for pod in await self._canary_pods():
            found = pod_problem(pod)
            if found and found[1]:
                return found[0]
        return None

    # ------------------------------------------------------------ routing
    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        self._asked_match = match is not None
        await self.router.set(weight, match if self.router.supports_match else None)

    async def verify_route(self) -> RouteStatus:
        status = await self.router.verify()
        if status.state == "applied" and self._asked_match and not self.router.supports_match:
            status.state = "unsupported"
        return status

    # ------------------------------------------------------------ outcome
    async def promote(self) -> None:
        canary = await self.api.find("Deployment", self.canary_name)
        if canary is None:
            stable = await self.api.get("Deployment", self.stable_name)
            if runs_image(stable, self.k8s.container, self.k8s.image):  # promoted already: a retried promotion
                return await self._route_to_stable_then_retire(keep=self.k8s.keep_canary_objects)
            raise PlatformError(f"canary Deployment {self.canary_name} is gone; nothing to promote")
        image = container_of(canary["spec"]["template"], self.k8s.container).get("image")

        def roll(stable: Obj) -> Obj | None:
            template = promoted_template(stable, canary)
            if template_without_hash(stable["spec"]["template"]) == template_without_hash(template):
                return None
            stable["spec"]["template"] = template
            stable["metadata"].setdefault("annotations", {})[CHANGE_CAUSE_ANNOTATION] = f"canaria: promoted {image}"
            stable.pop("status", None)
            return stable

        await self.api.update_with_retry("Deployment", self.stable_name, roll)

        async def stable_rolled() -> bool:
            return rollout_complete(await self.api.get("Deployment", self.stable_name))

        await self._wait(f"the rollout of Deployment {self.stable_name}", self.rollout_timeout, stable_rolled)
        await self._route_to_stable_then_retire(keep=self.k8s.keep_canary_objects)

    async def rollback(self, *, keep_canary: bool = False) -> None:
        await self._route_to_stable_then_retire(keep=keep_canary or self.k8s.keep_canary_objects)

    async def _route_to_stable_then_retire(self, *, keep: bool) -> None:
        """Route everything to stable, and retire the canary's objects only once the router applies it: an
        HTTPRoute not yet accepted still sends the canary's share to its Service, and the replicas router's
        share is the canary's Ready pods, which a deleted Deployment leaves serving for a while."""
        await self.router.set(0.0, None)
        self._asked_match = False  # no tester route is asked any more: the read-back must not say unsupported

        async def routed_to_stable() -> bool:
            return (await self.router.verify()).sends_canary_nothing

        await self._wait("the route back to stable", float(self.config.platform.verify_timeout), routed_to_stable)
        await self._retire_canary(keep=keep)

    async def _retire_canary(self, *, keep: bool) -> None:
        if keep:
            if await self.api.find("Deployment", self.canary_name) is not None:
                await self.api.scale("Deployment", self.canary_name, 0)
            return
        await self.api.delete("Deployment", self.canary_name)
        await self.api.delete("Service", self.canary_service_name)

    async def restart(self, variant: Variant) -> str:
        name = self.canary_name if variant == "canary" else self.stable_name
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            await self.api.merge_patch("Deployment", name, {"spec": {"template": {"metadata": {
                "annotations": {RESTARTED_ANNOTATION: stamp}}}}})
        except NotFound:
            raise PlatformError(f"Deployment {name} not found; nothing to restart") from None
        return f"restarted the pods of Deployment {name} (the kubectl rollout restart annotation, {stamp})"

    # ------------------------------------------------------------ reading
    async def describe(self) -> dict[Variant, VersionInfo]:
        stable = await self._stable()
        info: dict[Variant, VersionInfo] = {"stable": self._version("stable", stable)}
        canary = await self.api.find("Deployment", self.canary_name)
        info["canary"] = self._version("canary", canary) if canary else VersionInfo("canary", image=self.k8s.image)
        return info

    def _version(self, variant: Variant, deployment: Obj) -> VersionInfo:
        image = container_of(deployment["spec"]["template"], self.k8s.container).get("image")
        revision = (deployment["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        spec = getattr(self.settings, variant, None)
        return VersionInfo(variant, version=(spec.version if spec else None) or (str(image).rsplit(":", 1)[-1]
                                                                             if image and ":" in str(image) else None),
                           image=image, revision=f"{deployment['metadata']['name']} revision {revision}"
                           if revision else None, url=self.upstream_url(variant))

    def upstream_url(self, variant: Variant) -> str | None:
        spec = getattr(self.settings, variant, None)
        url = getattr(spec, "url", None)
        return str(url).rstrip("/") if url else None

    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        path = "/health/detailed" if detailed else "/health"
        url = self.upstream_url(variant)
        if url:
            try:
                response = await self._http.get(url + path)
            except httpx.HTTPError as exc:
                return health_result(variant, path, False, None, msg(
                    "check.health.request_failed", kind=type(exc).__name__, error=literal(str(exc))))
            body = response.json() if "json" in response.headers.get("content-type", "") else None
            return health_result(variant, path, response.status_code == 200, response.status_code, msg(
                "check.health.http_status", status=response.status_code), body if isinstance(body, dict) else None)
        name = self.canary_name if variant == "canary" else self.stable_name
        deployment = await self.api.find("Deployment", name)
        if deployment is None:
            return health_result(variant, path, False, None, msg("check.health.deployment_missing", name=name))
        status, wanted = deployment.get("status") or {}, int(deployment["spec"].get("replicas", 1))
        ready = int(status.get("readyReplicas", 0))
        return health_result(variant, path, ready >= wanted and wanted > 0, None,
                             msg("check.health.pods_ready", ready=ready, wanted=wanted))

    def rollback_plan(self) -> list[str]:
        return [render(step, "en") for step in self.rollback_plan_text()]

    def rollback_plan_text(self) -> list[dict[str, Any]]:
        retire = (msg("plan.kubernetes.scale_canary", deployment=self.canary_name) if self.k8s.keep_canary_objects
                  else msg("plan.kubernetes.delete_canary", deployment=self.canary_name,
                           service=self.canary_service_name))
        return [msg("plan.kubernetes.route_stable", router=self.router.kind, service=self.service_name), retire,
                msg("plan.kubernetes.leave_stable", deployment=self.stable_name)]

    async def checks(self) -> list[PlatformCheck]:
        return await kubernetes_checks(KubernetesCheckTarget(
            stable_name=self.stable_name, service_name=self.service_name, router=self.router,
            verbs=len(self._needed()), ensure_stable=self.ensure_stable, read_stable=self._stable))

    async def _owned_replicasets(self) -> tuple[Obj, list[Obj]]:
        stable = await self._stable()
        return stable, await owned_replicasets(self.api, stable)

    async def history(self) -> list[Revision]:
        stable, owned = await self._owned_replicasets()
        return revisions_of(stable, owned, self.k8s.container)

    async def rollback_to_revision(self, revision: str) -> str:
        stable, owned = await self._owned_replicasets()
        template = template_without_hash(find_revision(owned, revision, self.stable_name)["spec"]["template"])
        image = container_of(template, self.k8s.container).get("image")

        def undo(current: Obj) -> Obj | None:
            if template_without_hash(current["spec"]["template"]) == template:
                return None
            current["spec"]["template"] = template
            current["metadata"].setdefault("annotations", {})[CHANGE_CAUSE_ANNOTATION] = \
                f"canaria: rollback to revision {revision}"
            current.pop("status", None)
            return current

        written = await self.api.update_with_retry("Deployment", self.stable_name, undo)
        if written["metadata"].get("resourceVersion") == stable["metadata"].get("resourceVersion"):
            return f"Deployment {self.stable_name} already runs revision {revision} ({image}); nothing changed"

        async def rolled() -> bool:
            return rollout_complete(await self.api.get("Deployment", self.stable_name))

        await self._wait(f"the rollout of Deployment {self.stable_name}", self.rollout_timeout, rolled)
        return f"Deployment {self.stable_name} rolled back to revision {revision} ({image})"

    async def close(self) -> None:
        await self._http.aclose()
        await self.api.close()
