"""The Cloud Run Admin API v2 behaviour canaria relies on, as a state machine over real (or injected) time.

Documented behaviour modelled (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.services):
- `services.patch` replaces the writable fields of the service; a stale `etag` fails with 409 ABORTED; any change
  of `template` creates a new revision (named by `template.revision`, which must start with the service name, or
  `SERVICE-NNNNN-xyz`); `generation` counts spec changes.
- The change is a long-running operation that finishes after `operation_delay`; until then `reconciling` is
  true, `observed_generation` lags `generation` and `traffic_statuses` still show the previous split.
- A revision is Ready, or fails with Cloud Run's own condition (image not found, container crash on start,
  failed startup probe), or never becomes ready (its operation never finishes). Traffic that names a failed
  revision is not applied: the operation fails and `terminal_condition` says why.
- `traffic` targets by revision name (`TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION`) or `LATEST`, percents summing to
  100, optional unique tags; each tag gets a URL `https://TAG---SERVICE-HASH-REGION.a.run.app`.
- A revision that serves traffic or carries a tag cannot be deleted (400 FAILED_PRECONDITION).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.emulators.cloudrun.errors import ApiError
from tests.emulators.cloudrun.resources import Operation, Revision, Service, render_revision, render_service
from tests.emulators.cloudrun.rules import (
    LATEST,
    ImageBehaviour,
    Startup,
    check_traffic,
    condition,
    prune,
    rfc3339,
)

__all__ = ["CloudRunModel", "ImageBehaviour", "rfc3339"]

_WRITABLE = ("description", "labels", "annotations", "client", "clientVersion", "ingress", "launchStage",
             "binaryAuthorization", "template", "traffic", "scaling", "customAudiences", "defaultUriDisabled",
             "invokerIamDisabled", "iapEnabled")


class CloudRunModel:
    """Projects → services → revisions and operations. Thread-safe: one lock, state advanced on every read."""

    def __init__(self, *, clock: Callable[[], float] = time.time, operation_delay: float = 0.5,
                 revision_ready_delay: float = 0.3) -> None:
        self.clock = clock
        self.operation_delay = operation_delay
        self.revision_ready_delay = revision_ready_delay
        self.lock = threading.RLock()
        self.projects: set[str] = set()
        self.services: dict[str, Service] = {}
        self.revisions: dict[str, Revision] = {}
        self.operations: dict[str, Operation] = {}
        self.images: dict[str, ImageBehaviour] = {}
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ set-up by tests
    def add_service(self, project: str, location: str, service_id: str, image: str, *,
                    traffic: list[dict[str, Any]] | None = None) -> Service:
        """A service that already runs `image` as its first, ready revision."""
        with self.lock:
            self.projects.add(project)
            self.images.setdefault(image, ImageBehaviour())
            now = self.clock() - max(self.operation_delay, self.revision_ready_delay) - 1
            name = f"projects/{project}/locations/{location}/services/{service_id}"
            spec: dict[str, Any] = {"template": {"containers": [{"image": image}]},
                                    "traffic": traffic or [{"type": LATEST, "percent": 100}]}
            service = Service(name=name, uid=self._uid(name), spec=spec, created=now, updated=now)
            self.services[name] = service
            revision = self._create_revision(service, spec["template"], now)
            service.latest_ready = revision.short
            service.statuses = self._resolve(service, spec["traffic"])
            service.terminal = condition("Ready", "CONDITION_SUCCEEDED", now)
            return service

    # ------------------------------------------------------------ reads
    def get_service(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.advance()
            return self.render_service(self._service(name))

    def list_revisions(self, parent: str) -> list[dict[str, Any]]:
        with self.lock:
            self.advance()
            self._service(parent)
            found = [r for r in self.revisions.values() if r.service == parent]
            return [self.render_revision(r) for r in sorted(found, key=lambda r: r.created, reverse=True)]

    def get_revision(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.advance()
            return self.render_revision(self._revision(name))

    def get_operation(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.advance()
            operation = self.operations.get(name)
            if operation is None:
                raise ApiError("NOT_FOUND", f"Operation {name} not found.")
            body: dict[str, Any] = {"name": operation.name, "done": operation.done}
            service = self.services.get(operation.service)
            if service is not None:
                body["metadata"] = {"@type": "type.googleapis.com/google.cloud.run.v2.Service",
                                    **self.render_service(service)}
            if operation.error:
                body["error"] = operation.error
            elif operation.done and operation.response:
                body["response"] = operation.response
            return body

    # ------------------------------------------------------------ writes
    def patch_service(self, name: str, body: dict[str, Any], *, validate_only: bool = False,
                      allow_missing: bool = False) -> dict[str, Any]:
        with self.lock:
            self.advance()
            service = self._service(name)
            if body.get("etag") and body["etag"] != service.etag:
                raise ApiError("ABORTED", f"Resource '{service.short}' has been modified. Please apply your "
                               "changes to the latest version and try again.", reason="ETAG_MISMATCH")
            spec = prune({key: copy.deepcopy(body[key]) for key in _WRITABLE if key in body})
            spec.setdefault("traffic", [{"type": LATEST, "percent": 100}])
            if "template" not in spec:
                raise ApiError("INVALID_ARGUMENT", "service.template is required.", reason="BAD_REQUEST")
            new_revision = self._new_revision_name(service, spec["template"])
            self._check_traffic(service, spec["traffic"], new_revision)
            if validate_only:
                return self._operation_body(self._operation(service, service.generation, done=True))
            now = self.clock()
            if spec == service.spec:
                operation = self._operation(service, service.generation, done=True)
                return self._operation_body(operation)
            service.spec = spec
            service.generation += 1
            service.updated = now
            if new_revision:
                self._create_revision(service, spec["template"], now, new_revision)
            never = any(self._blocks_forever(service, t) for t in spec["traffic"]) or (
                new_revision is not None and self._revision_startup(service, new_revision) == "never_ready")
            done_at = float("inf") if never else now + self.operation_delay
            return self._operation_body(self._operation(service, service.generation, done_at=done_at))

    def delete_revision(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.advance()
            revision = self._revision(name)
            service = self.services[revision.service]
            serving = [s for s in service.statuses + service.spec["traffic"]
                       if s.get("revision") == revision.short and (s.get("percent") or s.get("tag"))]
            if serving or (revision.short == service.latest_ready and any(
                    t.get("type") == LATEST for t in service.spec["traffic"])):
                raise ApiError("FAILED_PRECONDITION", f"Revision {revision.short} cannot be deleted because it "
                               "is serving traffic or is referenced by a tag.", reason="FAILED_PRECONDITION")
            del self.revisions[name]
            operation = self._operation(service, service.generation, done_at=self.clock() + self.operation_delay)
            operation.kind, operation.revision = "delete_revision", name
            operation.response = {"@type": "type.googleapis.com/google.cloud.run.v2.Revision",
                                  **self.render_revision(revision)}
            return self._operation_body(operation)

    # ------------------------------------------------------------ time passes
    def advance(self) -> None:
        """Finish the operations that are due: apply traffic, record failures."""
        now = self.clock()
        for operation in self.operations.values():
            if operation.done or now < operation.done_at:
                continue
            operation.done = True
            service = self.services.get(operation.service)
            if service is None or operation.kind != "update":
                continue
            if operation.generation < service.generation:
                operation.response = {"@type": "type.googleapis.com/google.cloud.run.v2.Service",
                                      **self.render_service(service)}
                continue
            self._reconcile(service, operation, now)

    def _reconcile(self, service: Service, operation: Operation, now: float) -> None:
        service.observed_generation = operation.generation
        created = self.revisions.get(f"{service.name}/revisions/{service.latest_created}")
        failed = None
        if created is not None:
            state, message, _, reason = created.state(now, self.revision_ready_delay)
            if state == "CONDITION_SUCCEEDED":
                service.latest_ready = created.short
            elif state == "CONDITION_FAILED":
                failed = (message or "", reason or "REVISION_FAILED")
        targets = service.spec["traffic"]
        names = {t.get("revision") for t in targets}
        if failed and ((created is not None and created.short in names) or
                       any(t.get("type") == LATEST for t in targets)):
            error = ApiError("FAILED_PRECONDITION", failed[0], reason=failed[1])
            operation.error = error.rpc_status()
            service.terminal = condition("Ready", "CONDITION_FAILED", now, message=failed[0],
                                               reason="REVISION_FAILED")
            return  # the previous traffic stays applied
        service.statuses = self._resolve(service, targets)
        service.terminal = condition("Ready", "CONDITION_SUCCEEDED", now)
        operation.response = {"@type": "type.googleapis.com/google.cloud.run.v2.Service",
                              **self.render_service(service)}

    # ------------------------------------------------------------ rendering (proto3 JSON: defaults omitted)
    def render_service(self, service: Service) -> dict[str, Any]:
        return render_service(service)

    def render_revision(self, revision: Revision) -> dict[str, Any]:
        return render_revision(revision, self.clock(), self.revision_ready_delay)

    # ------------------------------------------------------------ helpers
    def _service(self, name: str) -> Service:
        project = name.split("/")[1] if name.startswith("projects/") else ""
        if project not in self.projects:
            raise ApiError("PERMISSION_DENIED", f"Permission denied on resource project {project}.",
                           reason="CONSUMER_INVALID", domain="googleapis.com", metadata={"consumer": project})
        service = self.services.get(name)
        if service is None:
            parts = name.split("/")
            raise ApiError("NOT_FOUND", f"Resource '{parts[-1]}' of kind 'SERVICE' in region '{parts[3]}' in "
                           f"project '{project}' does not exist.")
        return service

    def _revision(self, name: str) -> Revision:
        self._service(name.rsplit("/revisions/", 1)[0])
        revision = self.revisions.get(name)
        if revision is None:
            raise ApiError("NOT_FOUND", f"Revision '{name.rsplit('/', 1)[-1]}' does not exist.")
        return revision

    def _uid(self, seed: str) -> str:
        digest = hashlib.md5(f"{seed}/{next(self._ids)}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def _new_revision_name(self, service: Service, template: dict[str, Any]) -> str | None:
        """The revision a template change creates, or None when the template did not change."""
        if template == service.spec.get("template"):
            return None
        wanted = template.get("revision")
        if wanted:
            if not wanted.startswith(service.short + "-"):
                raise ApiError("INVALID_ARGUMENT", f"Revision name '{wanted}' must be prefixed by the name of the "
                               f"enclosing Service: '{service.short}-'.", reason="BAD_REQUEST")
            if f"{service.name}/revisions/{wanted}" in self.revisions:
                raise ApiError("ALREADY_EXISTS", f"Revision named '{wanted}' with different configuration "
                               "already exists.")
            return str(wanted)
        suffix = hashlib.sha1(f"{service.uid}{service.generation}".encode()).hexdigest()[:3]
        return f"{service.short}-{service.generation + 1:05d}-{suffix}"

    def _create_revision(self, service: Service, template: dict[str, Any], now: float,
                         short: str | None = None) -> Revision:
        short = short or f"{service.short}-{service.generation:05d}-" + service.url_hash[:3]
        containers = template.get("containers") or [{}]
        image = str(containers[0].get("image", ""))
        revision = Revision(name=f"{service.name}/revisions/{short}", service=service.name,
                            template=copy.deepcopy(template), created=now, image=image,
                            behaviour=self.images.get(image), uid=self._uid(short))
        self.revisions[revision.name] = revision
        service.latest_created = short
        return revision

    def _revision_startup(self, service: Service, short: str) -> Startup | None:
        revision = self.revisions.get(f"{service.name}/revisions/{short}")
        return revision.behaviour.startup if revision and revision.behaviour else None

    def _blocks_forever(self, service: Service, target: dict[str, Any]) -> bool:
        return bool(target.get("revision")) and self._revision_startup(service, target["revision"]) == "never_ready"

    def _check_traffic(self, service: Service, targets: list[dict[str, Any]], new_revision: str | None) -> None:
        check_traffic(targets, lambda name: name == new_revision or
                      f"{service.name}/revisions/{name}" in self.revisions)

    def _resolve(self, service: Service, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        statuses = []
        for target in targets:
            status = {k: v for k, v in target.items() if k in ("type", "revision", "percent", "tag")}
            if target.get("type") == LATEST:
                status["revision"] = service.latest_ready
            statuses.append(status)
        return statuses

    def _operation(self, service: Service, generation: int, *, done: bool = False,
                   done_at: float = 0.0) -> Operation:
        location = "/".join(service.name.split("/")[:4])
        name = f"{location}/operations/{self._uid(service.name)}"
        operation = Operation(name=name, service=service.name, generation=generation,
                              done_at=self.clock() if done else done_at, done=done)
        if done:
            operation.response = {"@type": "type.googleapis.com/google.cloud.run.v2.Service",
                                  **self.render_service(service)}
        self.operations[name] = operation
        return operation

    def _operation_body(self, operation: Operation) -> dict[str, Any]:
        return self.get_operation(operation.name)



