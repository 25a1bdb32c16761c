"""The emulator's etcd: objects per (group, plural), one global resourceVersion counter, a watch event log.

API-server semantics kept here because clients rely on them:
- every write bumps the object's `resourceVersion`; an update carrying a stale one fails with 409 Conflict;
- `generation` starts at 1 and grows when anything but metadata and status changes; `uid` and
  `creationTimestamp` are the server's;
- for types with a `status` subresource, a main-resource write keeps the stored status and a status write changes
  nothing but the status;
- deleting an object deletes its dependents (garbage collection through `ownerReferences`);
- watches replay the events after a given resourceVersion (410 Gone when it fell out of the log).

Thread-safe: the HTTP server and the simulated cluster write from different threads.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import datetime as dt
import itertools
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.kubernetes.resources import ResourceType
from tests.emulators.kubernetes.selectors import parse_field_selector, parse_label_selector

__all__ = ["ApiError", "ObjectStore", "WatchEvent", "Watcher", "now_rfc3339"]

Obj = dict[str, Any]
_NO_GENERATION = {"Event", "Namespace", "SelfSubjectAccessReview"}


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An API error answered as a `Status` object."""

    def __init__(self, code: int, reason: str, message: str, *, name: str = "", rtype: ResourceType | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.name, self.rtype = code, reason, message, name, rtype

    def status(self) -> Obj:
        details: Obj = {}
        if self.name:
            details["name"] = self.name
        if self.rtype is not None:
            details["group"] = self.rtype.group
            details["kind"] = self.rtype.plural
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "details": details, "code": self.code}


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rtype.qualified} "{name}" not found', name=name, rtype=rtype)


def conflict(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rtype.qualified} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                    name=name, rtype=rtype)


@dataclass
class WatchEvent:
    resource_version: int
    type: str  # ADDED | MODIFIED | DELETED
    key: tuple[str, str]
    namespace: str
    obj: Obj


@dataclass
class Watcher:
    key: tuple[str, str]
    namespace: str | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[WatchEvent] = field(default_factory=asyncio.Queue)


def _body(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in {"metadata", "status", "apiVersion", "kind"}}


class ObjectStore:
    def __init__(self, *, admission: Callable[[ResourceType, Obj], None] | None = None,
                 log_size: int = 5000) -> None:
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._counter = itertools.count(1000)
        self._rv = next(self._counter)
        self._log: deque[WatchEvent] = deque(maxlen=log_size)
        self._watchers: list[Watcher] = []
        self._admission = admission  # defaults then schema validation, in place
        self.changed = threading.Event()  # set on every write: wakes the simulated cluster

    # ------------------------------------------------------------ reads
    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def list(self, rtype: ResourceType, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[list[Obj], str]:
        labels_ok = parse_label_selector(label_selector)
        fields_ok = parse_field_selector(field_selector)
        with self._lock:
            items = [copy.deepcopy(obj) for (ns, _), obj in sorted(self._objects.get(rtype.store_key, {}).items())
                     if (namespace is None or ns == namespace)
                     and labels_ok(obj["metadata"].get("labels") or {}) and fields_ok(obj)]
            return items, str(self._rv)

    def get(self, rtype: ResourceType, namespace: str, name: str) -> Obj:
        with self._lock:
            obj = self._objects.get(rtype.store_key, {}).get((namespace, name))
            if obj is None:
                raise not_found(rtype, name)
            return copy.deepcopy(obj)

    def find(self, rtype: ResourceType, namespace: str, name: str) -> Obj | None:
        try:
            return self.get(rtype, namespace, name)
        except ApiError:
            return None

    # ------------------------------------------------------------ writes
    def _next_rv(self) -> str:
        self._rv = next(self._counter)
        return str(self._rv)

    def _publish(self, event_type: str, rtype: ResourceType, namespace: str, obj: Obj) -> None:
        event = WatchEvent(int(obj["metadata"]["resourceVersion"]), event_type, rtype.store_key, namespace,
                           copy.deepcopy(obj))
        self._log.append(event)
        for watcher in list(self._watchers):
            if watcher.key == rtype.store_key and watcher.namespace in (None, namespace):
                watcher.loop.call_soon_threadsafe(watcher.queue.put_nowait, event)
        self.changed.set()

    def _check(self, rtype: ResourceType, obj: Obj) -> None:
        if self._admission is None:
            return
        try:
            self._admission(rtype, obj)
        except ValueError as exc:
            name = obj.get("metadata", {}).get("name", "")
            raise ApiError(422, "Invalid", f'{rtype.kind} "{name}" is invalid: {exc}', name=name,
                           rtype=rtype) from exc

    def create(self, rtype: ResourceType, namespace: str, obj: Obj) -> Obj:
        with self._lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta.get("name")
            if not name:
                raise ApiError(422, "Invalid", f"{rtype.kind} is invalid: metadata.name: Required value", rtype=rtype)
            if rtype.namespaced:
                namespaces = self._objects.get(("", "namespaces"), {})
                if ("", namespace) not in namespaces:
                    raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found', name=namespace)
                meta["namespace"] = namespace
            else:
                namespace = ""
                meta.pop("namespace", None)
            bucket = self._objects.setdefault(rtype.store_key, {})
            if (namespace, name) in bucket:
                raise ApiError(409, "AlreadyExists", f'{rtype.qualified} "{name}" already exists', name=name,
                               rtype=rtype)
            obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta.pop("deletionTimestamp", None)
            if rtype.kind not in _NO_GENERATION:
                meta["generation"] = 1
            if "status" in rtype.subresources and rtype.kind != "Namespace":
                obj.pop("status", None)
            if rtype.kind == "Namespace":
                obj["status"] = {"phase": "Active"}
            self._check(rtype, obj)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            bucket[(namespace, name)] = obj
            self._publish("ADDED", rtype, namespace, obj)
            return copy.deepcopy(obj)

    def replace(self, rtype: ResourceType, namespace: str, name: str, obj: Obj, *,
                subresource: str | None = None) -> Obj:
        namespace = namespace if rtype.namespaced else ""
        with self._lock:
            current = self.get(rtype, namespace, name)
            incoming = copy.deepcopy(obj)
            meta = incoming.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL",
                               name=name, rtype=rtype)
            sent_rv = meta.get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise conflict(rtype, name)
            if subresource == "status":
                updated = copy.deepcopy(current)
                updated["status"] = incoming.get("status", {})
            else:
                updated = incoming
                updated["apiVersion"], updated["kind"] = rtype.api_version, rtype.kind
                for key in ("uid", "creationTimestamp", "generation"):
                    if key in current["metadata"]:
                        meta[key] = current["metadata"][key]
                    else:
                        meta.pop(key, None)
                meta["name"] = name
                if rtype.namespaced:
                    meta["namespace"] = namespace
                if "status" in rtype.subresources:
                    if "status" in current:
                        updated["status"] = current["status"]
                    else:
                        updated.pop("status", None)
            self._check(rtype, updated)
            if "generation" in updated["metadata"] and _body(updated) != _body(current):
                updated["metadata"]["generation"] = int(updated["metadata"]["generation"]) + 1
            if _without_rv(updated) == _without_rv(current):
                return current  # a no-op write changes nothing, not even the resourceVersion
            updated["metadata"]["resourceVersion"] = self._next_rv()
            self._objects[rtype.store_key][(namespace, name)] = updated
            self._publish("MODIFIED", rtype, namespace, updated)
            return copy.deepcopy(updated)

    def modify(self, rtype: ResourceType, namespace: str, name: str, change: Callable[[Obj], Obj], *,
               subresource: str | None = None) -> Obj:
        """Read, change, write under the lock (a patch: the server retries its own conflicts, never the client)."""
        with self._lock:
            current = self.get(rtype, namespace if rtype.namespaced else "", name)
            changed = change(copy.deepcopy(current))
            changed.setdefault("metadata", {}).setdefault("resourceVersion", current["metadata"]["resourceVersion"])
            return self.replace(rtype, namespace, name, changed, subresource=subresource)

    def touch(self, rtype: ResourceType, namespace: str, name: str) -> bool:
        """A concurrent writer (e.g. a controller updating status) bumps the resourceVersion; False if absent."""
        with self._lock:
            obj = self._objects.get(rtype.store_key, {}).get((namespace if rtype.namespaced else "", name))
            if obj is None:
                return False
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._publish("MODIFIED", rtype, namespace, obj)
            return True

    def delete(self, rtype: ResourceType, namespace: str, name: str, *, types: tuple[ResourceType, ...] = ()) -> Obj:
        """Delete an object and, through ownerReferences, whatever it owns among `types`."""
        namespace = namespace if rtype.namespaced else ""
        with self._lock:
            obj = self._objects.get(rtype.store_key, {}).pop((namespace, name), None)
            if obj is None:
                raise not_found(rtype, name)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._publish("DELETED", rtype, namespace, obj)
            uid = obj["metadata"]["uid"]
            for dependent_type in types:
                for (ns, dep_name), dep in list(self._objects.get(dependent_type.store_key, {}).items()):
                    owners = dep["metadata"].get("ownerReferences") or []
                    if any(owner.get("uid") == uid for owner in owners):
                        self.delete(dependent_type, ns, dep_name, types=types)
            return copy.deepcopy(obj)

    # ------------------------------------------------------------ watches
    def watch(self, rtype: ResourceType, namespace: str | None, since: str | None,
              loop: asyncio.AbstractEventLoop) -> tuple[Watcher, builtins.list[WatchEvent]]:
        """Register a watcher; return it with the events to send first (replayed or synthetic ADDED)."""
        with self._lock:
            watcher = Watcher(rtype.store_key, namespace, loop)
            if since in (None, "", "0"):
                items, _ = self.list(rtype, namespace)
                backlog = [WatchEvent(int(obj["metadata"]["resourceVersion"]), "ADDED", rtype.store_key,
                                      obj["metadata"].get("namespace", ""), obj) for obj in items]
            else:
                start = int(str(since))
                if self._log and start < self._log[0].resource_version - 1 and start < self._rv:
                    raise ApiError(410, "Expired", f"too old resource version: {start} ({self._log[0].resource_version})")
                backlog = [event for event in self._log if event.resource_version > start
                           and event.key == rtype.store_key and namespace in (None, event.namespace)]
            self._watchers.append(watcher)
            return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)


def _without_rv(obj: Obj) -> Obj:
    trimmed = copy.deepcopy(obj)
    trimmed.get("metadata", {}).pop("resourceVersion", None)
    return trimmed
