"""Pure functions over Kubernetes objects (plain dicts, as the API returns them): no I/O, easy to test.

The canary is Flagger's pattern turned around so that the user's objects stay the stable version:
`<deployment>-canary` is the stable Deployment's template with the new image, and labels of its own so that the
stable Service does not select its pods (gateway-api, istio) — or does, on purpose, for the `replicas` router,
where the split is the share of pods behind the one Service.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = [
    "VARIANT_LABEL",
    "MANAGED_LABEL",
    "REVISION_ANNOTATION",
    "RESTARTED_ANNOTATION",
    "CHANGE_CAUSE_ANNOTATION",
    "canary_labels",
    "runs_image",
    "canary_deployment",
    "canary_service",
    "promoted_template",
    "container_of",
    "rollout_complete",
    "pod_problem",
    "event_problem",
    "template_without_hash",
]

Obj = dict[str, Any]
VARIANT_LABEL = "canaria.dev/variant"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
CANARY_OF_ANNOTATION = "canaria.dev/canary-of"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
RESTARTED_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
_HASH_LABEL = "pod-template-hash"
# Pod waiting reasons that never heal by waiting: the canary is a NO-GO at once.
FATAL_WAITING = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                 "CreateContainerConfigError", "CreateContainerError", "RunContainerError"}


def canary_labels(stable_labels: dict[str, str], service_selector: dict[str, str], *, shared_service: bool
                  ) -> dict[str, str]:
    """The canary pods' labels. With `shared_service` (replicas router) the stable Service must select them;
    otherwise every label the stable Service selects on gets a `-canary` value so it never does."""
    labels = dict(stable_labels)
    if not shared_service:
        for key in service_selector:
            if key in labels:
                labels[key] = f"{labels[key]}-canary"
    labels[VARIANT_LABEL] = "canary"
    return labels


def runs_image(deployment: Obj, container: str | None, image: str | None) -> bool:
    """The Deployment's template runs `image` (after a promotion, or a retry of one, the stable one does)."""
    return bool(image) and container_of(deployment["spec"]["template"], container).get("image") == image


def container_of(template: Obj, name: str | None) -> Obj:
    containers = template.get("spec", {}).get("containers") or []
    if not containers:
        raise ValueError("the pod template has no containers")
    if name is None:
        return containers[0]
    for container in containers:
        if container.get("name") == name:
            return container
    names = ", ".join(str(c.get("name")) for c in containers)
    raise KeyError(f"no container named {name} (the template has {names})")


def canary_deployment(stable: Obj, *, name: str, image: str, container: str | None, replicas: int,
                      service_selector: dict[str, str], shared_service: bool) -> Obj:
    template = copy.deepcopy(stable["spec"]["template"])
    labels = canary_labels(template.get("metadata", {}).get("labels") or {}, service_selector,
                           shared_service=shared_service)
    template.setdefault("metadata", {})["labels"] = labels
    template["metadata"].pop("creationTimestamp", None)
    container_of(template, container)["image"] = image
    selector_keys = (stable["spec"].get("selector") or {}).get("matchLabels") or {}
    selector = {key: labels[key] for key in selector_keys if key in labels}
    selector[VARIANT_LABEL] = "canary"
    stable_meta = stable["metadata"]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": stable_meta.get("namespace"),
                     "labels": {**(stable_meta.get("labels") or {}), VARIANT_LABEL: "canary",
                                MANAGED_LABEL: "canaria"},
                     "annotations": {CANARY_OF_ANNOTATION: stable_meta["name"]}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "template": template,
                 "revisionHistoryLimit": 2,
                 **({"progressDeadlineSeconds": stable["spec"]["progressDeadlineSeconds"]}
                    if "progressDeadlineSeconds" in stable["spec"] else {})},
    }


def canary_service(stable_service: Obj, *, name: str, selector: dict[str, str]) -> Obj:
    """A ClusterIP Service with the stable Service's ports, selecting only the canary pods."""
    ports = [{key: port[key] for key in ("name", "port", "targetPort", "protocol", "appProtocol") if key in port}
             for port in stable_service["spec"].get("ports") or []]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": stable_service["metadata"].get("namespace"),
                         "labels": {VARIANT_LABEL: "canary", MANAGED_LABEL: "canaria"},
                         "annotations": {CANARY_OF_ANNOTATION: stable_service["metadata"]["name"]}},
            "spec": {"type": "ClusterIP", "selector": dict(selector), "ports": ports}}


def promoted_template(stable: Obj, canary: Obj) -> Obj:
    """The canary's pod spec under the stable template's own labels and annotations (so the stable
    Deployment's selector, Service and `kubectl rollout history` keep working)."""
    template = copy.deepcopy(stable["spec"]["template"])
    template["spec"] = copy.deepcopy(canary["spec"]["template"]["spec"])
    return template


def template_without_hash(template: Obj) -> Obj:
    result = copy.deepcopy(template)
    result.get("metadata", {}).get("labels", {}).pop(_HASH_LABEL, None)
    result.get("metadata", {}).pop("creationTimestamp", None)
    return result


def rollout_complete(deployment: Obj) -> bool:
    """All wanted replicas of the current generation are updated and available (what `kubectl rollout status`
    waits for)."""
    meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    return (int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
            and int(status.get("updatedReplicas", 0)) == wanted
            and int(status.get("replicas", 0)) == wanted
            and int(status.get("availableReplicas", 0)) == wanted)


def pod_problem(pod: Obj) -> tuple[str, bool] | None:
    """(why the pod cannot serve, fatal now?) or None. Fatal: crash loop, image pull, bad config."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return f"pod {name} cannot be scheduled: {condition.get('reason')}: {condition.get('message', '')}", False
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FATAL_WAITING:
            restarts = int(container.get("restartCount", 0))
            detail = waiting.get("message") or ""
            text = f"pod {name} container {container.get('name')}: {reason}"
            if restarts:
                text += f" ({restarts} restarts)"
            return (f"{text}: {detail}" if detail else text), True
    if status.get("phase") == "Failed":
        return f"pod {name} failed: {status.get('reason', '')} {status.get('message', '')}".strip(), True
    return None


def event_problem(events: list[Obj]) -> str | None:
    """The newest Warning event's reason and message (what `kubectl describe pod` shows at the bottom)."""
    warnings = [event for event in events if event.get("type") == "Warning"]
    if not warnings:
        return None
    newest = max(warnings, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return f"{newest.get('reason')}: {newest.get('message', '')}".strip()
