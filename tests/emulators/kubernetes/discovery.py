"""Discovery documents (`/api`, `/apis`, `/apis/<group>/<version>`), `/version`, and server-side tables.

kubectl finds every resource through discovery before it reads one, and prints `kubectl get` from the
`meta.k8s.io/v1` Table the server renders, so both are served the way the API server serves them. The legacy
(unaggregated) discovery format is answered; kubectl falls back to it when the response is not the aggregated
kind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.emulators.kubernetes.resources import RESOURCE_TYPES, ResourceType, group_versions, preferred_version

__all__ = ["version_info", "core_versions", "group_list", "resource_list", "to_table"]

Obj = dict[str, Any]


def version_info() -> Obj:
    return {"major": "1", "minor": "32", "gitVersion": "v1.32.0-canaria-emulator", "gitCommit": "0" * 40,
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23",
            "compiler": "gc", "platform": "linux/amd64"}


def core_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def group_list() -> Obj:
    groups = []
    for group, versions in group_versions().items():
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{version}", "version": version} for version in versions]
        preferred = preferred_version(group)
        groups.append({"name": group, "versions": entries,
                       "preferredVersion": {"groupVersion": f"{group}/{preferred}", "version": preferred}})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _entry(rtype: ResourceType, name: str, kind: str, verbs: list[str]) -> Obj:
    entry: Obj = {"name": name, "singularName": "" if "/" in name else rtype.singular,
                  "namespaced": rtype.namespaced, "kind": kind, "verbs": verbs}
    if "/" not in name:
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        entry["storageVersionHash"] = f"{rtype.kind[:8]:=<8}"
    if name.endswith("/scale"):
        entry["group"], entry["version"] = "autoscaling", "v1"
    return entry


def resource_list(group: str, version: str) -> Obj | None:
    types = [rtype for rtype in RESOURCE_TYPES if rtype.group == group and rtype.version == version]
    if not types:
        return None
    resources = []
    for rtype in types:
        resources.append(_entry(rtype, rtype.plural, rtype.kind, list(rtype.verbs)))
        for sub in rtype.subresources:
            kind = "Scale" if sub == "scale" else rtype.kind
            resources.append(_entry(rtype, f"{rtype.plural}/{sub}", kind, ["get", "patch", "update"]))
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _age(obj: Obj) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = int((dt.datetime.now(dt.UTC) - dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
                   .replace(tzinfo=dt.UTC)).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _columns(rtype: ResourceType, obj: Obj) -> list[tuple[str, Any]]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if rtype.kind == "Deployment":
        return [("Ready", f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}"),
                ("Up-to-date", status.get("updatedReplicas", 0)), ("Available", status.get("availableReplicas", 0))]
    if rtype.kind == "ReplicaSet":
        return [("Desired", spec.get("replicas", 0)), ("Current", status.get("replicas", 0)),
                ("Ready", status.get("readyReplicas", 0))]
    if rtype.kind == "Pod":
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for item in statuses if item.get("ready"))
        waiting = next((item["state"]["waiting"].get("reason") for item in statuses
                        if (item.get("state") or {}).get("waiting")), None)
        return [("Ready", f"{ready}/{len(statuses)}"), ("Status", waiting or status.get("phase", "")),
                ("Restarts", sum(int(item.get("restartCount", 0)) for item in statuses))]
    if rtype.kind == "Service":
        return [("Type", spec.get("type", "")), ("Cluster-IP", spec.get("clusterIP", ""))]
    if rtype.kind == "Namespace":
        return [("Status", status.get("phase", ""))]
    return []


def to_table(rtype: ResourceType, items: list[Obj], resource_version: str) -> Obj:
    sample = _columns(rtype, items[0] if items else {})
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [{"name": name, "type": "string", "format": "", "description": name, "priority": 0}
                    for name, _ in sample]
    definitions.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for obj in items:
        cells = [obj["metadata"]["name"], *[value for _, value in _columns(rtype, obj)], _age(obj)]
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": cells, "object": partial})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": definitions, "rows": rows}
