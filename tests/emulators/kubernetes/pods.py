"""What the kubelet and scheduler would report for a pod, chosen by its image name.

`crashloop` in an image → the container starts, exits 1 and is restarted with back-off (CrashLoopBackOff);
`imagepull` → the image cannot be pulled (ErrImagePull, then ImagePullBackOff); `unschedulable` → no node fits
(PodScheduled False, Unschedulable). Anything else is Running and Ready once `ready_delay` has passed.
Timestamps are the pod's creation time, so a status that did not change is written once.
"""

from __future__ import annotations

import zlib
from typing import Any

__all__ = ["pod_status"]

Obj = dict[str, Any]


def _condition(kind: str, ok: bool, at: str, reason: str | None = None, message: str | None = None) -> Obj:
    condition: Obj = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
                      "lastTransitionTime": at}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _pod_ip(uid: str) -> str:
    number = zlib.crc32(uid.encode()) % 65000 + 2
    return f"10.244.{number // 250}.{number % 250 + 2}"


def pod_status(pod: Obj, *, age: float, ready_delay: float) -> tuple[Obj, list[tuple[str, str]]]:
    """The pod's status now, and the Warning events (reason, message) its state would record."""
    at = pod["metadata"]["creationTimestamp"]
    containers = pod["spec"].get("containers") or []
    images = " ".join(str(c.get("image", "")) for c in containers)
    name = pod["metadata"]["name"]
    if "unschedulable" in images:
        message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available."
        return ({"phase": "Pending", "qosClass": "BestEffort",
                 "conditions": [_condition("PodScheduled", False, at, "Unschedulable", message)]},
                [("FailedScheduling", message)])
    base: Obj = {"hostIP": "192.0.2.10", "hostIPs": [{"ip": "192.0.2.10"}], "podIP": _pod_ip(pod["metadata"]["uid"]),
                 "podIPs": [{"ip": _pod_ip(pod["metadata"]["uid"])}], "startTime": at, "qosClass": "BestEffort"}
    statuses = []
    events: list[tuple[str, str]] = []
    ready = age >= ready_delay
    for container in containers:
        image = str(container.get("image", ""))
        entry: Obj = {"name": container["name"], "image": image, "imageID": "", "restartCount": 0,
                      "ready": False, "started": False}
        if "imagepull" in image:
            reason = "ErrImagePull" if age < ready_delay else "ImagePullBackOff"
            entry["state"] = {"waiting": {"reason": reason, "message": f'Back-off pulling image "{image}"'}}
            events.append(("Failed", f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to '
                                     f'pull and unpack image "{image}": not found'))
            ready = False
        elif "crashloop" in image:
            restarts = min(5, 1 + int(age / 0.5))
            entry.update(restartCount=restarts, containerID=f"containerd://{restarts:064d}")
            entry["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message":
                                          f"back-off 10s restarting failed container={container['name']} pod={name}"}}
            entry["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": at, "finishedAt": at,
                                                 "containerID": f"containerd://{restarts:064d}"}}
            events.append(("BackOff", f"Back-off restarting failed container {container['name']} in pod {name}"))
            ready = False
        elif ready:
            entry.update(ready=True, started=True, containerID="containerd://" + "a" * 64,
                         state={"running": {"startedAt": at}})
        else:
            entry["state"] = {"waiting": {"reason": "ContainerCreating"}}
        statuses.append(entry)
    running = all("running" in entry["state"] for entry in statuses) or any(
        "lastState" in entry for entry in statuses)
    phase = "Running" if running else "Pending"
    conditions = [
        _condition("PodReadyToStartContainers", True, at),
        _condition("Initialized", True, at),
        _condition("Ready", ready, at, None if ready else "ContainersNotReady",
                   None if ready else f"containers with unready status: [{' '.join(c['name'] for c in containers)}]"),
        _condition("ContainersReady", ready, at, None if ready else "ContainersNotReady",
                   None if ready else f"containers with unready status: [{' '.join(c['name'] for c in containers)}]"),
        _condition("PodScheduled", True, at),
    ]
    return {**base, "phase": phase, "conditions": conditions, "containerStatuses": statuses}, events
