"""The HTTP face of the emulator: Kubernetes REST paths, verbs and patch types, as a Starlette app.

Paths: `/api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]` and the same under
`/apis/<group>/<version>`. Verbs: list (and `?watch=1`), get, create, update, patch, delete. Patch content types:
`application/merge-patch+json`, `application/json-patch+json`, `application/strategic-merge-patch+json`
(415 for custom resources, as the API server answers). Lists are typed (`kind: DeploymentList`) and carry
`metadata.resourceVersion`; `Accept: ...;as=Table` gets a server-side table for kubectl.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.emulators.kubernetes import discovery
from tests.emulators.kubernetes.faults import Faults, RequestRecord
from tests.emulators.kubernetes.patches import PatchError, json_patch, merge_patch, strategic_merge_patch
from tests.emulators.kubernetes.resources import RESOURCE_TYPES, ResourceType, find_type
from tests.emulators.kubernetes.selectors import (
    SelectorError,
    parse_field_selector,
    parse_label_selector,
    selector_string,
)
from tests.emulators.kubernetes.store import ApiError, ObjectStore, WatchEvent

__all__ = ["build_app"]

Obj = dict[str, Any]
_PATCHERS = {
    "application/merge-patch+json": merge_patch,
    "application/json-patch+json": json_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
}


@dataclass
class Target:
    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def resource(self) -> str:
        return f"{self.rtype.plural}/{self.subresource}" if self.subresource else self.rtype.plural


def _parse(path: str) -> Target | None:
    parts = [part for part in path.strip("/").split("/") if part]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and find_type(group, version, rest[2]):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    rtype = find_type(group, version, rest[0])
    if rtype is None:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in rtype.subresources:
        return None
    return Target(rtype, namespace, name, sub)


def _verb(method: str, target: Target, watch: bool) -> str:
    if method == "GET":
        return "get" if target.name else ("watch" if watch else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


def _as_version(rtype: ResourceType, obj: Obj) -> Obj:
    """Objects are stored once per group: answer in the version asked for (Istio v1 / v1beta1)."""
    obj["apiVersion"] = rtype.api_version
    return obj


def _scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = selector_string(obj["spec"].get("selector"))
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {key: meta[key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if key in meta},
            "spec": {"replicas": obj["spec"].get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": selector}}


class KubernetesApi:
    def __init__(self, store: ObjectStore, faults: Faults, *, server_address: str) -> None:
        self.store, self.faults, self.server_address = store, faults, server_address
        self.requests: list[RequestRecord] = []

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        try:
            response = await self._route(request, path)
        except ApiError as exc:
            response = JSONResponse(exc.status(), status_code=exc.code)
        except (SelectorError, json.JSONDecodeError, PatchError) as exc:
            code = 422 if isinstance(exc, PatchError) else 400
            reason = "Invalid" if code == 422 else "BadRequest"
            response = JSONResponse(ApiError(code, reason, str(exc)).status(), status_code=code)
        self.requests.append(RequestRecord(request.method, path + (f"?{request.url.query}" if request.url.query
                                                                    else ""),
                                           getattr(request.state, "verb", ""),
                                           request.headers.get("content-type", ""), response.status_code))
        return response

    async def _route(self, request: Request, path: str) -> Response:
        stripped = path.strip("/")
        if stripped in {"version", "livez", "readyz", "healthz"}:
            return JSONResponse(discovery.version_info()) if stripped == "version" else Response("ok")
        if stripped == "api":
            return JSONResponse(discovery.core_versions(self.server_address))
        if stripped == "apis":
            return JSONResponse(discovery.group_list())
        parts = stripped.split("/")
        if parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
            group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            document = discovery.resource_list(group, version)
            if document is not None:
                return JSONResponse(document)
        target = _parse(path)
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        watch = request.query_params.get("watch") in {"1", "true"}
        verb = _verb(request.method, target, watch)
        request.state.verb = verb
        if self.faults.is_forbidden(verb, target.resource, target.namespace, target.name):
            raise self._forbidden(verb, target)
        if "protobuf" in request.headers.get("content-type", ""):
            raise ApiError(415, "UnsupportedMediaType", "the emulator speaks JSON only, not protobuf")
        if verb == "watch":
            return await self._watch(request, target)
        if verb == "list":
            return self._list(request, target)
        if target.rtype.kind == "SelfSubjectAccessReview" and verb == "create":
            return JSONResponse(self._access_review(await request.json()), status_code=201)
        if verb == "create":
            return await self._create(request, target)
        if target.name is None:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed on a collection")
        namespace = target.namespace or ""
        if verb in {"update", "patch"} and self.faults.next_write_conflicts():
            self.store.touch(target.rtype, namespace, target.name)
        if verb == "get":
            obj = self.store.get(target.rtype, namespace, target.name)
            return JSONResponse(_scale(obj) if target.subresource == "scale" else _as_version(target.rtype, obj))
        if verb == "update":
            return self._update(await request.json(), target)
        if verb == "patch":
            return await self._patch(request, target)
        if verb == "delete":
            types = tuple(rtype for rtype in RESOURCE_TYPES if rtype.group in {"", "apps"})
            obj = self.store.delete(target.rtype, namespace, target.name, types=types)
            return JSONResponse(_as_version(target.rtype, obj))
        raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported")

    def _forbidden(self, verb: str, target: Target) -> ApiError:
        rtype = target.rtype
        what = f'{rtype.qualified} "{target.name}"' if target.name else rtype.qualified
        scope = f' in the namespace "{target.namespace}"' if target.namespace else " at the cluster scope"
        return ApiError(403, "Forbidden", f'{what} is forbidden: User "{self.faults.user}" cannot {verb} resource '
                        f'"{target.resource}" in API group "{rtype.group}"{scope}', name=target.name or "",
                        rtype=rtype)

    def _access_review(self, body: Obj) -> Obj:
        attributes = (body.get("spec") or {}).get("resourceAttributes") or {}
        resource = attributes.get("resource", "")
        if attributes.get("subresource"):
            resource += "/" + attributes["subresource"]
        denied = self.faults.is_forbidden(attributes.get("verb", ""), resource, attributes.get("namespace") or None,
                                          attributes.get("name") or None)
        body["status"] = {"allowed": not denied, **({"reason": "forbidden by the emulator's RBAC rules"}
                                                    if denied else {})}
        body.setdefault("metadata", {})
        return body

    def _list(self, request: Request, target: Target) -> Response:
        items, resource_version = self.store.list(
            target.rtype, target.namespace, label_selector=request.query_params.get("labelSelector"),
            field_selector=request.query_params.get("fieldSelector"))
        items = [_as_version(target.rtype, item) for item in items]
        if "as=Table" in request.headers.get("accept", ""):
            return JSONResponse(discovery.to_table(target.rtype, items, resource_version))
        return JSONResponse({"kind": f"{target.rtype.kind}List", "apiVersion": target.rtype.api_version,
                             "metadata": {"resourceVersion": resource_version}, "items": items})

    async def _create(self, request: Request, target: Target) -> Response:
        body = await request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be a JSON object")
        if body.get("kind") not in (None, target.rtype.kind):
            raise ApiError(400, "BadRequest", f"kind {body.get('kind')} does not match {target.rtype.kind}")
        namespace = target.namespace or body.get("metadata", {}).get("namespace") or "default"
        obj = self.store.create(target.rtype, namespace, body)
        return JSONResponse(_as_version(target.rtype, obj), status_code=201)

    def _update(self, body: Any, target: Target) -> Response:
        assert target.name is not None
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be a JSON object")
        namespace = target.namespace or ""
        if target.subresource == "scale":
            replicas = int((body.get("spec") or {}).get("replicas", 0))
            sent_rv = (body.get("metadata") or {}).get("resourceVersion")

            def set_replicas(obj: Obj) -> Obj:
                obj["spec"]["replicas"] = replicas
                if sent_rv:
                    obj["metadata"]["resourceVersion"] = sent_rv
                return obj

            obj = self.store.modify(target.rtype, namespace, target.name, set_replicas)
            return JSONResponse(_scale(obj))
        obj = self.store.replace(target.rtype, namespace, target.name, body, subresource=target.subresource)
        return JSONResponse(_as_version(target.rtype, obj))

    async def _patch(self, request: Request, target: Target) -> Response:
        assert target.name is not None
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        patcher = _PATCHERS.get(content_type)
        if patcher is None or (target.rtype.custom and patcher is strategic_merge_patch):
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {', '.join(self._accepted(target))}")
        patch = json.loads(await request.body() or b"null")

        if target.subresource == "scale":
            def patch_scale(obj: Obj) -> Obj:
                scale = patcher(_scale(obj), patch)
                obj["spec"]["replicas"] = int(scale["spec"]["replicas"])
                return obj

            obj = self.store.modify(target.rtype, target.namespace or "", target.name, patch_scale)
            return JSONResponse(_scale(obj))
        obj = self.store.modify(target.rtype, target.namespace or "", target.name,
                                lambda current: patcher(current, patch), subresource=target.subresource)
        return JSONResponse(_as_version(target.rtype, obj))

    @staticmethod
    def _accepted(target: Target) -> list[str]:
        return [kind for kind, patcher in _PATCHERS.items()
                if not (target.rtype.custom and patcher is strategic_merge_patch)]

    async def _watch(self, request: Request, target: Target) -> Response:
        labels_ok = parse_label_selector(request.query_params.get("labelSelector"))
        fields_ok = parse_field_selector(request.query_params.get("fieldSelector"))
        timeout = float(request.query_params.get("timeoutSeconds") or 1800)
        watcher, backlog = self.store.watch(target.rtype, target.namespace, request.query_params.get("resourceVersion"),
                                            asyncio.get_running_loop())

        def line(event: WatchEvent) -> bytes | None:
            obj = event.obj
            if not (labels_ok(obj["metadata"].get("labels") or {}) and fields_ok(obj)):
                return None
            return (json.dumps({"type": event.type, "object": _as_version(target.rtype, dict(obj))}) + "\n").encode()

        async def stream() -> AsyncIterator[bytes]:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            try:
                for event in backlog:
                    if (data := line(event)) is not None:
                        yield data
                while (remaining := deadline - loop.time()) > 0:
                    try:
                        event = await asyncio.wait_for(watcher.queue.get(), timeout=min(remaining, 1.0))
                    except TimeoutError:
                        continue
                    if (data := line(event)) is not None:
                        yield data
            finally:
                self.store.unwatch(watcher)

        return StreamingResponse(stream(), media_type="application/json")


def build_app(api: KubernetesApi) -> Starlette:
    return Starlette(routes=[Route("/{path:path}", api.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
