"""Failures a test can switch on: RBAC denials (403) and a concurrent writer that makes updates conflict.

The conflict mode is the realistic kind: before every n-th write request, another writer (as a controller
updating status would) bumps the target's resourceVersion. An update (PUT) or a patch carrying the
resourceVersion the client read then fails with 409 Conflict, exactly as on a busy cluster; a plain patch
succeeds, because the API server retries its own conflicts for patches.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["ForbidRule", "Faults", "RequestRecord"]


@dataclass(frozen=True)
class ForbidRule:
    verb: str | None = None  # get list watch create update patch delete
    resource: str | None = None  # plural, optionally with /subresource
    namespace: str | None = None
    name: str | None = None

    def matches(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return ((self.verb is None or self.verb == verb)
                and (self.resource is None or self.resource == resource or resource.startswith(self.resource + "/"))
                and (self.namespace is None or self.namespace == namespace)
                and (self.name is None or self.name == name))


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    verb: str
    content_type: str
    status: int


@dataclass
class Faults:
    user: str = "system:serviceaccount:default:canaria"
    forbidden: list[ForbidRule] = field(default_factory=list)
    conflict_every: int = 0
    writes: int = 0
    conflicts_injected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def forbid(self, verb: str | None = None, resource: str | None = None, *, namespace: str | None = None,
               name: str | None = None) -> None:
        self.forbidden.append(ForbidRule(verb, resource, namespace, name))

    def allow_all(self) -> None:
        self.forbidden.clear()

    def is_forbidden(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return any(rule.matches(verb, resource, namespace, name) for rule in self.forbidden)

    def next_write_conflicts(self) -> bool:
        """Count a write request; True when a concurrent writer should get there first."""
        with self._lock:
            self.writes += 1
            hit = self.conflict_every > 0 and self.writes % self.conflict_every == 0
            if hit:
                self.conflicts_injected += 1
            return hit
