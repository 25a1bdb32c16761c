"""The fake's resources (revision, service, long-running operation) and their rendering as the API's JSON.

Rendering follows proto3 JSON as Google's REST API sends it: camelCase names, int64 as strings, defaults omitted.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.emulators.cloudrun.rules import ImageBehaviour, condition, failure, prune, region_code, rfc3339

__all__ = ["Operation", "Revision", "Service", "render_revision", "render_service"]


@dataclass
class Revision:
    name: str  # full resource name
    service: str  # full service name
    template: dict[str, Any]
    created: float
    image: str
    behaviour: ImageBehaviour | None  # None: the image does not exist
    uid: str

    @property
    def short(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def state(self, now: float, ready_delay: float) -> tuple[str, str | None, str | None, str | None]:
        """(state, message, failed condition type, reason) of the Ready condition at `now`."""
        if self.behaviour is None:
            return ("CONDITION_FAILED", f"Image '{self.image}' not found.", "ContainerReady", "CONTAINER_MISSING")
        if self.behaviour.startup == "never_ready" or now < self.created + ready_delay:
            return ("CONDITION_RECONCILING", None, None, None)
        if self.behaviour.startup == "ready":
            return ("CONDITION_SUCCEEDED", None, None, None)
        kind, reason, message = failure(self.behaviour.startup, self.image, self.short)
        return ("CONDITION_FAILED", message, kind, reason)


@dataclass
class Operation:
    name: str
    service: str
    generation: int
    done_at: float  # inf: never
    kind: Literal["update", "delete_revision"] = "update"
    revision: str | None = None
    done: bool = False
    error: dict[str, Any] | None = None
    response: dict[str, Any] | None = None


@dataclass
class Service:
    name: str
    uid: str
    spec: dict[str, Any]
    created: float
    updated: float
    generation: int = 1
    observed_generation: int = 1
    statuses: list[dict[str, Any]] = field(default_factory=list)
    terminal: dict[str, Any] = field(default_factory=dict)
    latest_created: str = ""
    latest_ready: str = ""

    @property
    def short(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.uid}/{self.generation}/{self.observed_generation}".encode()).hexdigest()
        return f'"{digest[:24]}"'

    @property
    def url_hash(self) -> str:
        return hashlib.sha1(self.uid.encode()).hexdigest()[:10]


def render_service(service: Service) -> dict[str, Any]:
    region = service.name.split("/")[3]
    uri = f"https://{service.short}-{service.url_hash}-{region_code(region)}.a.run.app"
    body: dict[str, Any] = {
        **copy.deepcopy(service.spec), "name": service.name, "uid": service.uid,
        "generation": str(service.generation), "observedGeneration": str(service.observed_generation),
        "createTime": rfc3339(service.created), "updateTime": rfc3339(service.updated),
        "creator": "deployer@example.iam.gserviceaccount.com",
        "lastModifier": "deployer@example.iam.gserviceaccount.com",
        "terminalCondition": service.terminal, "conditions": [
            condition("RoutesReady", service.terminal.get("state", "CONDITION_PENDING"), service.updated),
            condition("ConfigurationsReady", "CONDITION_SUCCEEDED", service.updated)],
        "latestReadyRevision": f"{service.name}/revisions/{service.latest_ready}",
        "latestCreatedRevision": f"{service.name}/revisions/{service.latest_created}",
        "trafficStatuses": [_status_with_uri(service, s) for s in service.statuses],
        "uri": uri, "urls": [uri], "etag": service.etag,
        "reconciling": service.observed_generation < service.generation,
    }
    return prune(body)

def render_revision(revision: Revision, now: float, ready_delay: float) -> dict[str, Any]:
    state, message, failed_type, reason = revision.state(now, ready_delay)
    ready = condition("Ready", state, revision.created, message=message)
    conditions = [ready]
    if failed_type:
        failed = condition(failed_type, "CONDITION_FAILED", revision.created, message=message)
        if reason == "CONTAINER_MISSING":
            failed["reason"] = reason
            ready["reason"] = reason
        else:
            failed["revisionReason"] = reason
        conditions.append(failed)
    body = {**copy.deepcopy(revision.template), "name": revision.name, "uid": revision.uid,
            "generation": "1", "observedGeneration": "1", "createTime": rfc3339(revision.created),
            "updateTime": rfc3339(revision.created), "service": revision.service, "conditions": conditions,
            "reconciling": state == "CONDITION_RECONCILING",
            "logUri": f"https://console.cloud.google.com/logs/viewer?resource=cloud_run_revision/"
                      f"revision_name/{revision.short}"}
    body.pop("revision", None)
    return prune(body)


def _status_with_uri(service: Service, status: dict[str, Any]) -> dict[str, Any]:
    status = dict(status)
    if status.get("tag"):
        region = service.name.split("/")[3]
        status["uri"] = (f"https://{status['tag']}---{service.short}-{service.url_hash}-"
                         f"{region_code(region)}.a.run.app")
    return status
