"""The defaults the API server fills into core objects (pkg/apis/*/v1/defaults.go), for the fields a client
reads back: a Deployment's strategy and history limit, a pod template's restart and pull policies, a Service's
type, protocol and targetPort. A client that copies a template from a live object (as canaria copies the stable
Deployment's) must cope with these being there.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

__all__ = ["apply_core_defaults"]

_CLUSTER_IPS = itertools.count(10)
_SERVICE_NET = ipaddress.ip_network("10.96.0.0/12")


def _pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        image = str(container.get("image", ""))
        tag = image.rsplit("/", 1)[-1]
        latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _template(spec: dict[str, Any]) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {})
        if isinstance(template.get("spec"), dict):
            _pod_spec(template["spec"])


def _deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    _template(spec)


def _service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if "clusterIP" not in spec:
        spec["clusterIP"] = str(_SERVICE_NET[next(_CLUSTER_IPS)])
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def apply_core_defaults(kind: str, obj: dict[str, Any]) -> None:
    """Fill defaults in place, as admission does before the object is stored."""
    if kind == "Deployment":
        _deployment(obj)
    elif kind == "ReplicaSet":
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        _template(obj["spec"])
    elif kind == "Pod":
        _pod_spec(obj.setdefault("spec", {}))
    elif kind == "Service":
        _service(obj)
