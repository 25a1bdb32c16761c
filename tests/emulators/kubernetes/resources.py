"""The resource types the emulator serves, as the API server's discovery documents describe them.

Only the types canaria reads or writes (and kubectl needs for `get`, `patch`, `rollout`) are served; every
other path answers 404 like a cluster without that API. Objects are stored per (group, plural), so the same
VirtualService is visible through `networking.istio.io/v1` and `v1beta1`, as on a real server.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResourceType", "RESOURCE_TYPES", "find_type", "group_versions"]

_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale"
    custom: bool = False  # a CRD: no strategic merge patch, schema from tests/emulators/kubernetes/crds
    verbs: tuple[str, ...] = _ALL_VERBS
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def store_key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """`deployments.apps` — how the API server names a resource in its error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
                 subresources=("status",), verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "pods", "Pod", short_names=("po",), subresources=("status",), categories=("all",)),
    ResourceType("", "v1", "services", "Service", short_names=("svc",), subresources=("status",),
                 categories=("all",)),
    ResourceType("", "v1", "events", "Event", short_names=("ev",)),
    ResourceType("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
                 subresources=("status", "scale"), categories=("all",)),
    ResourceType("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", subresources=("status",),
                 custom=True, categories=("gateway-api",)),
    ResourceType("gateway.networking.k8s.io", "v1", "gateways", "Gateway", short_names=("gtw",),
                 subresources=("status",), custom=True, categories=("gateway-api",)),
    ResourceType("networking.istio.io", "v1", "virtualservices", "VirtualService", short_names=("vs",),
                 subresources=("status",), custom=True, categories=("istio-io", "networking-istio-io")),
    ResourceType("networking.istio.io", "v1", "destinationrules", "DestinationRule", short_names=("dr",),
                 subresources=("status",), custom=True, categories=("istio-io", "networking-istio-io")),
    ResourceType("networking.istio.io", "v1beta1", "virtualservices", "VirtualService", short_names=("vs",),
                 subresources=("status",), custom=True, categories=("istio-io", "networking-istio-io")),
    ResourceType("networking.istio.io", "v1beta1", "destinationrules", "DestinationRule", short_names=("dr",),
                 subresources=("status",), custom=True, categories=("istio-io", "networking-istio-io")),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
                 namespaced=False, verbs=("create",)),
)

# The version a group prefers (discovery's preferredVersion): the first one listed above.
_PREFERRED: dict[str, str] = {}
for _rtype in RESOURCE_TYPES:
    _PREFERRED.setdefault(_rtype.group, _rtype.version)


def find_type(group: str, version: str, plural: str) -> ResourceType | None:
    for rtype in RESOURCE_TYPES:
        if (rtype.group, rtype.version, rtype.plural) == (group, version, plural):
            return rtype
    return None


def group_versions() -> dict[str, list[str]]:
    """Every served group (core "" included) and its versions, preferred first."""
    result: dict[str, list[str]] = {}
    for rtype in RESOURCE_TYPES:
        versions = result.setdefault(rtype.group, [])
        if rtype.version not in versions:
            versions.append(rtype.version)
    return result


def preferred_version(group: str) -> str:
    return _PREFERRED[group]
