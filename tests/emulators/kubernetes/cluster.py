"""A simulated cluster behind the emulator: the controllers a client expects to react to its writes.

- Deployments produce ReplicaSets named `<deployment>-<template hash>` with the
  `deployment.kubernetes.io/revision` annotation (a template seen before gets its old ReplicaSet back with the
  next revision number, as on a real cluster, so `kubectl rollout history` and `undo` work), scale the new one to
  `spec.replicas` and the old ones to zero, keep `revisionHistoryLimit` old ones, and report
  `observedGeneration`, replica counts and the `Available` / `Progressing` conditions.
- ReplicaSets produce pods. A pod becomes Ready after `pod_ready_delay` seconds unless its image says
  otherwise: an image whose name contains `crashloop` crash-loops (`CrashLoopBackOff`, restarts counting),
  `imagepull` cannot be pulled (`ImagePullBackOff`), `unschedulable` stays Pending (`Unschedulable`); each with
  the Warning event a kubelet or scheduler would record.
- Gateways get `Accepted` and `Programmed`; HTTPRoutes get one `status.parents` entry per parentRef with
  `Accepted` (observedGeneration = generation) and `ResolvedRefs` (False when a backend Service is missing).
  `route_accept_delay` holds acceptance back for a while (a slow gateway controller); `reject_routes` refuses.

The cluster writes through the store directly (never through the faults), and only when something changed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

from tests.emulators.kubernetes.pods import pod_status
from tests.emulators.kubernetes.resources import RESOURCE_TYPES, ResourceType
from tests.emulators.kubernetes.store import ApiError, ObjectStore, now_rfc3339

__all__ = ["SimulatedCluster", "REVISION_ANNOTATION"]

Obj = dict[str, Any]
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
_HASH_LABEL = "pod-template-hash"


def _type(kind: str) -> ResourceType:
    return next(rtype for rtype in RESOURCE_TYPES if rtype.kind == kind)


DEPLOYMENT, REPLICASET, POD, EVENT = _type("Deployment"), _type("ReplicaSet"), _type("Pod"), _type("Event")
GATEWAY, HTTPROUTE, SERVICE = _type("Gateway"), _type("HTTPRoute"), _type("Service")


def template_hash(template: Obj) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _without_hash(template: Obj) -> Obj:
    copy = json.loads(json.dumps(template))
    copy.get("metadata", {}).get("labels", {}).pop(_HASH_LABEL, None)
    return copy


def _owned_by(obj: Obj, owner: Obj) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
               for ref in obj["metadata"].get("ownerReferences") or [])


def _owner_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _revision(obj: Obj) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0") or 0)


def _condition(kind: str, status: bool, reason: str, message: str, generation: int | None = None) -> Obj:
    condition: Obj = {"type": kind, "status": "True" if status else "False", "reason": reason, "message": message,
                      "lastTransitionTime": now_rfc3339()}
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def _same_conditions(old: list[Obj], new: list[Obj]) -> list[Obj]:
    """Keep lastTransitionTime when a condition did not change (so a reconcile that changes nothing writes nothing)."""
    previous = {item.get("type"): item for item in old or []}
    result = []
    for item in new:
        before = previous.get(item["type"])
        if before and all(before.get(k) == item.get(k) for k in ("status", "reason", "message", "observedGeneration")):
            item = {**item, "lastTransitionTime": before.get("lastTransitionTime", item["lastTransitionTime"])}
        result.append(item)
    return result


class SimulatedCluster:
    def __init__(self, store: ObjectStore, *, pod_ready_delay: float = 0.05) -> None:
        self.store = store
        self.pod_ready_delay = pod_ready_delay
        self.route_accept_delay = 0.0
        self.reject_routes = False
        self.controller_name = "gateway.example.net/emulated"
        self._born: dict[str, float] = {}  # pod uid → monotonic creation time
        self._generation_seen: dict[str, tuple[int, float]] = {}  # route uid → (generation, first seen)
        # what the emulated gateway serves: each HTTPRoute's spec as of the generation it last accepted
        self.applied_routes: dict[tuple[str, str], Obj] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="k8s-simulated-cluster", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.store.changed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.store.changed.wait(timeout=0.05)
            self.store.changed.clear()
            if self._stop.is_set():
                return
            try:
                self.reconcile()
            except ApiError as exc:  # a race with a client's delete: the next pass sees the new state
                if exc.code not in (404, 409):
                    self.errors.append(exc.message)

    # ------------------------------------------------------------ one pass
    def reconcile(self) -> None:
        for deployment in self.store.list(DEPLOYMENT)[0]:
            self._deployment(deployment)
        for replicaset in self.store.list(REPLICASET)[0]:
            self._replicaset(replicaset)
        for pod in self.store.list(POD)[0]:
            self._pod(pod)
        for replicaset in self.store.list(REPLICASET)[0]:
            self._replicaset_status(replicaset)
        for deployment in self.store.list(DEPLOYMENT)[0]:
            self._deployment_status(deployment)
        for gateway in self.store.list(GATEWAY)[0]:
            self._gateway(gateway)
        for route in self.store.list(HTTPROUTE)[0]:
            self._route(route)

    def _set_status(self, rtype: ResourceType, obj: Obj, status: Obj) -> None:
        if obj.get("status") == status:
            return
        self.store.replace(rtype, obj["metadata"].get("namespace", ""), obj["metadata"]["name"],
                           {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]}, "status": status},
                           subresource="status")

    # ------------------------------------------------------------ deployments
    def _deployment(self, deployment: Obj) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        namespace = meta["namespace"]
        owned = [rs for rs in self.store.list(REPLICASET, namespace)[0] if _owned_by(rs, deployment)]
        template = spec["template"]
        new = next((rs for rs in owned if _without_hash(rs["spec"]["template"]) == template), None)
        top = max((_revision(rs) for rs in owned), default=0)
        if new is None:
            digest = template_hash(template)
            labels = {**(template.get("metadata", {}).get("labels") or {}), _HASH_LABEL: digest}
            rs_template = json.loads(json.dumps(template))
            rs_template.setdefault("metadata", {})["labels"] = labels
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})[_HASH_LABEL] = digest
            annotations = {REVISION_ANNOTATION: str(top + 1),
                           "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1))}
            cause = (meta.get("annotations") or {}).get("kubernetes.io/change-cause")
            if cause:
                annotations["kubernetes.io/change-cause"] = cause
            new = self.store.create(REPLICASET, namespace, {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{meta['name']}-{digest}", "namespace": namespace, "labels": labels,
                             "annotations": annotations, "ownerReferences": [_owner_ref(deployment)]},
                "spec": {"replicas": 0, "selector": selector, "template": rs_template}})
            owned.append(new)
        elif _revision(new) < top:
            def bump(rs: Obj) -> Obj:
                rs["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = str(top + 1)
                return rs

            new = self.store.modify(REPLICASET, namespace, new["metadata"]["name"], bump)
        revision = str(_revision(new))
        if (meta.get("annotations") or {}).get(REVISION_ANNOTATION) != revision:
            def annotate(obj: Obj) -> Obj:
                obj["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = revision
                return obj

            self.store.modify(DEPLOYMENT, namespace, meta["name"], annotate)
        replicas = 0 if spec.get("paused") else int(spec.get("replicas", 1))
        for rs in owned:
            want = replicas if rs["metadata"]["uid"] == new["metadata"]["uid"] else 0
            if spec.get("paused") and rs is not new:
                continue
            if rs["spec"].get("replicas") != want:
                def scale(obj: Obj, want: int = want) -> Obj:
                    obj["spec"]["replicas"] = want
                    return obj

                self.store.modify(REPLICASET, namespace, rs["metadata"]["name"], scale)
        old = sorted((rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]), key=_revision)
        limit = int(spec.get("revisionHistoryLimit", 10))
        for rs in old[:max(0, len(old) - limit)]:
            self.store.delete(REPLICASET, namespace, rs["metadata"]["name"], types=(POD,))

    def _deployment_status(self, deployment: Obj) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        owned = [rs for rs in self.store.list(REPLICASET, meta["namespace"])[0] if _owned_by(rs, deployment)]
        new = next((rs for rs in owned if _without_hash(rs["spec"]["template"]) == spec["template"]), None)
        desired = int(spec.get("replicas", 1))
        total = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in owned)
        ready = sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in owned)
        updated = int((new.get("status") or {}).get("replicas", 0)) if new else 0
        updated_ready = int((new.get("status") or {}).get("readyReplicas", 0)) if new else 0
        complete = updated == desired == total and updated_ready == desired
        name = new["metadata"]["name"] if new else meta["name"]
        conditions = [
            _condition("Available", ready >= desired, "MinimumReplicasAvailable" if ready >= desired
                       else "MinimumReplicasUnavailable",
                       "Deployment has minimum availability." if ready >= desired
                       else "Deployment does not have minimum availability."),
            _condition("Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                       f'ReplicaSet "{name}" has successfully progressed.' if complete
                       else f'ReplicaSet "{name}" is progressing.'),
        ]
        for item in conditions:
            item["lastUpdateTime"] = item["lastTransitionTime"]
        old_conditions = (deployment.get("status") or {}).get("conditions") or []
        conditions = _same_conditions(old_conditions, conditions)
        for item, before in ((c, next((o for o in old_conditions if o.get("type") == c["type"]), None))
                             for c in conditions):
            if before and before.get("lastTransitionTime") == item["lastTransitionTime"]:
                item["lastUpdateTime"] = before.get("lastUpdateTime", item["lastUpdateTime"])
        status: Obj = {"observedGeneration": meta["generation"], "replicas": total, "updatedReplicas": updated,
                       "readyReplicas": ready, "availableReplicas": ready, "conditions": conditions}
        if total - ready > 0:
            status["unavailableReplicas"] = total - ready
        status = {key: value for key, value in status.items() if value != 0 or key == "observedGeneration"}
        self._set_status(DEPLOYMENT, deployment, status)

    # ------------------------------------------------------------ replicasets and pods
    def _replicaset(self, replicaset: Obj) -> None:
        meta = replicaset["metadata"]
        pods = [pod for pod in self.store.list(POD, meta["namespace"])[0] if _owned_by(pod, replicaset)]
        want = int(replicaset["spec"].get("replicas", 1))
        for _ in range(want - len(pods)):
            template = json.loads(json.dumps(replicaset["spec"]["template"]))
            pod_meta = template.get("metadata") or {}
            pod = self.store.create(POD, meta["namespace"], {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {**pod_meta, "name": f"{meta['name']}-{uuid.uuid4().hex[:5]}",
                             "ownerReferences": [_owner_ref(replicaset)]},
                "spec": {**template["spec"], "nodeName": "emulated-node-1"}})
            self._born[pod["metadata"]["uid"]] = time.monotonic()
        for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[:max(0, len(pods) - want)]:
            self.store.delete(POD, meta["namespace"], pod["metadata"]["name"])

    def _replicaset_status(self, replicaset: Obj) -> None:
        meta = replicaset["metadata"]
        pods = [pod for pod in self.store.list(POD, meta["namespace"])[0] if _owned_by(pod, replicaset)]
        ready = sum(1 for pod in pods if _pod_ready(pod))
        status: Obj = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                       "availableReplicas": ready, "observedGeneration": meta["generation"]}
        status = {key: value for key, value in status.items() if value != 0 or key in {"replicas", "observedGeneration"}}
        self._set_status(REPLICASET, replicaset, status)

    def _pod(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        age = time.monotonic() - self._born.setdefault(uid, time.monotonic())
        status, events = pod_status(pod, age=age, ready_delay=self.pod_ready_delay)
        self._set_status(POD, pod, status)
        for reason, message in events:
            self._event(pod, reason, message)

    def _event(self, pod: Obj, reason: str, message: str) -> None:
        meta = pod["metadata"]
        name = f"{meta['name']}.{reason.lower()}"
        if self.store.find(EVENT, meta["namespace"], name) is not None:
            return
        self.store.create(EVENT, meta["namespace"], {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": meta["namespace"]},
            "involvedObject": {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"],
                               "uid": meta["uid"], "apiVersion": "v1"},
            "reason": reason, "message": message, "type": "Warning", "count": 1,
            "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(),
            "source": {"component": "default-scheduler" if reason == "FailedScheduling" else "kubelet"}})

    # ------------------------------------------------------------ gateway api
    def _gateway(self, gateway: Obj) -> None:
        generation = gateway["metadata"]["generation"]
        conditions = [_condition("Accepted", True, "Accepted", "Gateway accepted by the emulated controller",
                                 generation),
                      _condition("Programmed", True, "Programmed", "Gateway programmed", generation)]
        old = (gateway.get("status") or {}).get("conditions") or []
        self._set_status(GATEWAY, gateway, {**(gateway.get("status") or {}),
                                            "conditions": _same_conditions(old, conditions)})

    def _route(self, route: Obj) -> None:
        meta = route["metadata"]
        generation = int(meta["generation"])
        seen = self._generation_seen.get(meta["uid"])
        if seen is None or seen[0] != generation:
            seen = (generation, time.monotonic())
            self._generation_seen[meta["uid"]] = seen
        if time.monotonic() - seen[1] < self.route_accept_delay:
            self.store.changed.set()
            return
        services = {svc["metadata"]["name"] for svc in self.store.list(SERVICE, meta["namespace"])[0]}
        missing = [ref["name"] for rule in route["spec"].get("rules") or [] for ref in rule.get("backendRefs") or []
                   if ref.get("kind", "Service") == "Service" and ref["name"] not in services]
        old_parents = {json.dumps(item.get("parentRef"), sort_keys=True): item
                       for item in (route.get("status") or {}).get("parents") or []}
        parents = []
        for ref in route["spec"].get("parentRefs") or []:
            accepted = _condition("Accepted", not self.reject_routes,
                                  "NotAllowedByListeners" if self.reject_routes else "Accepted",
                                  "the emulated gateway refuses routes" if self.reject_routes else "Route accepted",
                                  generation)
            resolved = _condition("ResolvedRefs", not missing, "BackendNotFound" if missing else "ResolvedRefs",
                                  f"Service(s) {', '.join(missing)} not found" if missing else "References resolved",
                                  generation)
            before = old_parents.get(json.dumps(ref, sort_keys=True), {}).get("conditions") or []
            parents.append({"parentRef": ref, "controllerName": self.controller_name,
                            "conditions": _same_conditions(before, [accepted, resolved])})
        if not self.reject_routes:
            self.applied_routes[(meta["namespace"], meta["name"])] = json.loads(json.dumps(route["spec"]))
        self._set_status(HTTPROUTE, route, {"parents": parents})


def _pod_ready(pod: Obj) -> bool:
    return any(item.get("type") == "Ready" and item.get("status") == "True"
               for item in (pod.get("status") or {}).get("conditions") or [])
