"""The Kubernetes API at canaria's edge: lightkube's async client, objects as plain dicts, errors mapped once.

Why lightkube: async (`AsyncClient`), typed models for the core types (lightkube-models) and generic resources
for CRDs (HTTPRoute, VirtualService) with the same calls, watches, every patch type, and it is built on httpx,
which canaria already uses. It is an optional extra (`pip install 'canaria[kubernetes]'`), imported lazily.

Errors: 404 of an object the config names → ConfigError (exit 2, the key to fix); 403 → ConfigError naming the
verb and resource (exit 2: the ServiceAccount's Role, see deploy/kubernetes/); anything else from the API
server, or an unreachable one → PlatformError (exit 1). Updates carry the resourceVersion they read; a 409
Conflict re-reads and re-applies the change (`update_with_retry`), so a concurrent writer is never clobbered.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from canaria.errors import ConfigError, PlatformError

__all__ = ["KubeApi", "KubeKind", "KINDS", "NotFound", "Conflict"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class KubeKind:
    """One resource type: where lightkube finds its class (core) or how to declare it (CRD)."""

    kind: str
    module: str | None = None  # lightkube.resources.<module> for core types
    group: str = ""
    version: str = "v1"
    plural: str = ""
    status: bool = False  # has a status subresource

    @property
    def label(self) -> str:
        return f"{self.kind}"


KINDS = {
    "Deployment": KubeKind("Deployment", module="apps_v1"),
    "ReplicaSet": KubeKind("ReplicaSet", module="apps_v1"),
    "Service": KubeKind("Service", module="core_v1"),
    "Pod": KubeKind("Pod", module="core_v1"),
    "Event": KubeKind("Event", module="core_v1"),
    "HTTPRoute": KubeKind("HTTPRoute", group="gateway.networking.k8s.io", plural="httproutes", status=True),
    "VirtualService": KubeKind("VirtualService", group="networking.istio.io", plural="virtualservices", status=True),
}


class NotFound(Exception):
    """The object does not exist (callers decide whether that is the user's error)."""


class Conflict(Exception):
    """409: someone else wrote the object since it was read."""


def _lightkube() -> Any:
    try:
        return importlib.import_module("lightkube")
    except ImportError as exc:  # the optional extra is missing
        raise ConfigError("platform.kind kubernetes needs the lightkube client: pip install 'canaria[kubernetes]'",
                          field="platform.kind") from exc


class KubeApi:
    def __init__(self, *, kubeconfig: str | None, context: str | None, namespace: str, timeout: float = 10.0) -> None:
        self.namespace = namespace
        self._kubeconfig, self._context, self._timeout = kubeconfig, context, timeout
        self._client: Any = None
        self._resources: dict[str, Any] = {}

    # ------------------------------------------------------------ set-up
    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        lightkube = _lightkube()
        from lightkube.config.kubeconfig import KubeConfig

        try:
            if self._kubeconfig:
                loaded = KubeConfig.from_file(self._kubeconfig)
            elif self._context:
                loaded = KubeConfig.from_file(_default_kubeconfig())
            else:
                loaded = KubeConfig.from_env()  # in-cluster ServiceAccount, else ~/.kube/config
            config = loaded.get(context_name=self._context) if self._context else loaded
            if config is None:
                raise ValueError(f"no context {self._context}")
        except (OSError, ValueError, KeyError, lightkube.ConfigError) as exc:
            where = self._kubeconfig or "$KUBECONFIG / ~/.kube/config / in-cluster"
            raise ConfigError(f"cannot load the kubeconfig ({where}): {exc}", field="platform.kubernetes.kubeconfig") \
                from exc
        self._client = lightkube.AsyncClient(config=config, namespace=self.namespace,
                                             timeout=_transport().Timeout(self._timeout), field_manager="canaria")
        return self._client

    def _resource(self, kind: str) -> Any:
        if kind not in self._resources:
            spec = KINDS[kind]
            if spec.module:
                module = importlib.import_module(f"lightkube.resources.{spec.module}")
                self._resources[kind] = getattr(module, kind)
            else:
                from lightkube.generic_resource import create_namespaced_resource

                self._resources[kind] = create_namespaced_resource(spec.group, spec.version, kind, spec.plural)
        return self._resources[kind]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # ------------------------------------------------------------ calls
    async def _call(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        lightkube = _lightkube()
        try:
            return await call()
        except lightkube.ApiError as exc:
            code = int(getattr(exc.status, "code", 0) or 0)
            message = getattr(exc.status, "message", None) or str(exc)
            if code == 404:
                raise NotFound(message) from exc
            if code == 409:
                raise Conflict(message) from exc
            if code == 403:
                raise ConfigError(f"Kubernetes RBAC forbids {what}: {message} (grant it with deploy/kubernetes/rbac.yaml)",
                                  field="platform.kubernetes", key="error.kubernetes.forbidden",
                                  params={"what": {"literal": what}, "detail": {"literal": message}}) from exc
            if code == 401:
                raise ConfigError(f"the Kubernetes API server refused the credentials while trying to {what}: {message}",
                                  field="platform.kubernetes.kubeconfig", key="error.kubernetes.unauthorized",
                                  params={"what": {"literal": what}, "detail": {"literal": message}}) from exc
            raise PlatformError(f"Kubernetes API error {code} while trying to {what}: {message}") from exc
        except (httpx.HTTPError, _transport().HTTPError, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc or 'no answer'}"
            raise PlatformError(f"the Kubernetes API server is unreachable while trying to {what}: {detail}",
                                key="error.kubernetes.unreachable",
                                params={"what": {"literal": what}, "detail": {"literal": detail}}) from exc

    @staticmethod
    def _dict(obj: Any) -> Obj:
        return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)

    async def get(self, kind: str, name: str) -> Obj:
        client, resource = self._connect(), self._resource(kind)
        return self._dict(await self._call(f"get {kind} {name}", lambda: client.get(resource, name)))

    async def find(self, kind: str, name: str) -> Obj | None:
        try:
            return await self.get(kind, name)
        except NotFound:
            return None

    async def list(self, kind: str, *, labels: dict[str, str] | None = None, fields: dict[str, str] | None = None
                   ) -> list[Obj]:
        client, resource = self._connect(), self._resource(kind)

        async def collect() -> list[Obj]:
            return [self._dict(item) async for item in client.list(resource, labels=labels or None,
                                                                   fields=fields or None)]

        return list(await self._call(f"list {kind}", collect))

    async def create(self, kind: str, obj: Obj) -> Obj:
        client, resource = self._connect(), self._resource(kind)
        body = resource.from_dict(obj) if hasattr(resource, "from_dict") else obj
        return self._dict(await self._call(f"create {kind} {obj['metadata']['name']}", lambda: client.create(body)))

    async def replace(self, kind: str, obj: Obj) -> Obj:
        client, resource = self._connect(), self._resource(kind)
        body = resource.from_dict(obj)
        return self._dict(await self._call(f"update {kind} {obj['metadata']['name']}", lambda: client.replace(body)))

    async def merge_patch(self, kind: str, name: str, patch: Obj) -> Obj:
        from lightkube.types import PatchType

        client, resource = self._connect(), self._resource(kind)
        return self._dict(await self._call(f"patch {kind} {name}", lambda: client.patch(
            resource, name, patch, patch_type=PatchType.MERGE)))

    async def scale(self, kind: str, name: str, replicas: int) -> None:
        await self.merge_patch(kind, name, {"spec": {"replicas": replicas}})

    async def delete(self, kind: str, name: str) -> bool:
        client, resource = self._connect(), self._resource(kind)
        try:
            await self._call(f"delete {kind} {name}", lambda: client.delete(resource, name))
        except NotFound:
            return False
        return True

    async def update_with_retry(self, kind: str, name: str, change: Callable[[Obj], Obj | None], *,
                                attempts: int = 6) -> Obj:
        """Read, change, write with the resourceVersion read; on 409 read again. `change` returns None for
        'nothing to do' (the object is returned as read)."""
        for _ in range(attempts):
            current = await self.get(kind, name)
            changed = change(current)
            if changed is None:
                return current
            try:
                return await self.replace(kind, changed)
            except Conflict:
                continue
        raise PlatformError(f"{kind} {name} kept changing under canaria ({attempts} conflicts in a row); "
                            "nothing was written, try again")

    async def can_i(self, verb: str, resource: str, group: str = "", name: str | None = None) -> bool:
        """SelfSubjectAccessReview: may this identity do it? (True when the server cannot say.)"""
        from lightkube.resources.authorization_v1 import SelfSubjectAccessReview

        client = self._connect()
        review = SelfSubjectAccessReview.from_dict({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                            "namespace": self.namespace, **({"name": name} if name else {})}}})
        answer = self._dict(await self._call(f"check permission to {verb} {resource}", lambda: client.create(review)))
        return bool((answer.get("status") or {}).get("allowed", True))


def _transport() -> Any:
    """lightkube 1.x speaks through httpx2 (older releases through httpx): its errors are mapped here too."""
    try:
        return importlib.import_module("httpx2")
    except ImportError:
        return httpx


def _default_kubeconfig() -> Any:
    import os
    from pathlib import Path

    return Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()
