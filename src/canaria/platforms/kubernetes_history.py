"""The stable Deployment's revisions, as `kubectl rollout history` tells them: its own ReplicaSets by number.

A ReplicaSet belongs to the Deployment when its ownerReferences name the Deployment's uid (a label match
alone would also take in another Deployment's with the same selector); its number is the
`deployment.kubernetes.io/revision` annotation, its cause `kubernetes.io/change-cause`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from canaria.errors import UsageError
from canaria.platforms.base import Revision
from canaria.platforms.kubernetes_client import KubeApi
from canaria.platforms.kubernetes_objects import CHANGE_CAUSE_ANNOTATION, REVISION_ANNOTATION, container_of

__all__ = ["find_revision", "owned_replicasets", "revisions_of"]

Obj = dict[str, Any]


def _number(rs: Obj) -> str:
    return str((rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "?"))


async def owned_replicasets(api: KubeApi, stable: Obj) -> list[Obj]:
    """The Deployment's ReplicaSets, newest revision first."""
    labels = (stable["spec"].get("selector") or {}).get("matchLabels") or {}
    owned = [rs for rs in await api.list("ReplicaSet", labels=labels)
             if any(ref.get("uid") == stable["metadata"]["uid"] for ref in rs["metadata"].get("ownerReferences")
                    or [])]
    return sorted(owned, key=lambda rs: int((rs["metadata"].get("annotations") or {})
                                            .get(REVISION_ANNOTATION, 0)), reverse=True)


def revisions_of(stable: Obj, owned: list[Obj], container: str | None) -> list[Revision]:
    current = (stable["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
    revisions = []
    for rs in owned:
        annotations = rs["metadata"].get("annotations") or {}
        number = annotations.get(REVISION_ANNOTATION, "?")
        created = rs["metadata"].get("creationTimestamp")
        revisions.append(Revision(
            name=str(number), image=container_of(rs["spec"]["template"], container).get("image"),
            created_at=dt.datetime.fromisoformat(str(created).replace("Z", "+00:00")).timestamp()
            if created else None, traffic=100.0 if number == current else 0.0,
            detail=f"{rs['metadata']['name']}" + (f" — {annotations[CHANGE_CAUSE_ANNOTATION]}"
                                                  if CHANGE_CAUSE_ANNOTATION in annotations else "")))
    return revisions


def find_revision(owned: list[Obj], revision: str, deployment: str) -> Obj:
    """The ReplicaSet of `revision`, or a UsageError that lists the revisions there are."""
    target = next((rs for rs in owned if _number(rs) == str(revision)), None)
    if target is None:
        known = ", ".join(_number(rs) for rs in owned)
        raise UsageError(f"Deployment {deployment} has no revision {revision} (it has {known})")
    return target
