"""Cloud Run's own rules and wording, as the fake applies them: traffic validation, failure messages, URLs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tests.emulators.cloudrun.errors import ApiError

__all__ = ["LATEST", "REVISION", "ImageBehaviour", "Startup", "check_traffic", "condition", "failure", "prune",
           "region_code", "rfc3339"]

Startup = Literal["ready", "crash", "health_check", "never_ready"]
LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
@dataclass
class ImageBehaviour:
    """How a container image behaves once deployed: how it starts and, for Monitoring, how it serves."""

    startup: Startup = "ready"
    error_rate: float = 0.0  # fraction of requests answered 5xx
    latency_ms: float = 40.0  # median
    memory: float = 0.35  # container memory utilization (0..1)
    cpu: float = 0.20


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def condition(kind: str, state: str, at: float, *, message: str | None = None,
               reason: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": kind, "state": state, "lastTransitionTime": rfc3339(at)}
    if message:
        condition["message"] = message
        condition["severity"] = "ERROR"
    if reason:
        condition["reason"] = reason
    return condition


_TAG = re.compile(r"^[a-z]([a-z0-9-]{0,44}[a-z0-9])?$")


def failure(startup: Startup, image: str, revision: str) -> tuple[str, str, str]:
    """(condition type, reason field and value, message) Cloud Run reports for a revision that cannot start."""
    if startup == "crash":
        return ("ContainerHealthy", "HEALTH_CHECK_CONTAINER_ERROR",
                f"Revision '{revision}' is not ready and cannot serve traffic. The user-provided container failed "
                "to start and listen on the port defined provided by the PORT=8080 environment variable within "
                "the allocated timeout. Container called exit(1).")
    return ("ContainerHealthy", "HEALTH_CHECK_CONTAINER_ERROR",
            f"Revision '{revision}' is not ready and cannot serve traffic. Default STARTUP TCP probe failed 1 time "
            "consecutively for container \"app-1\" on port 8080. The instance was not started.")


def check_traffic(targets: list[dict[str, Any]], exists: Callable[[str], bool]) -> None:
    """Cloud Run's validation of `traffic`: allocation types, known revisions, percents summing to 100, tags."""
    total = 0
    tags: set[str] = set()
    for target in targets:
        kind = target.get("type", "TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED")
        revision = target.get("revision")
        if kind == REVISION and not revision:
            raise ApiError("INVALID_ARGUMENT", "spec.traffic: a target of type REVISION must name a revision.",
                           reason="BAD_REQUEST")
        if kind == LATEST and revision:
            raise ApiError("INVALID_ARGUMENT", "spec.traffic: a LATEST target must not name a revision.",
                           reason="BAD_REQUEST")
        if kind not in (LATEST, REVISION):
            raise ApiError("INVALID_ARGUMENT", f"spec.traffic: unknown allocation type {kind}.",
                           reason="BAD_REQUEST")
        if revision and not exists(revision):
            raise ApiError("NOT_FOUND", f"Revision '{revision}' does not exist.")
        percent = int(target.get("percent", 0))
        if not 0 <= percent <= 100:
            raise ApiError("INVALID_ARGUMENT", f"spec.traffic: percent {percent} out of range.",
                           reason="BAD_REQUEST")
        total += percent
        tag = target.get("tag")
        if tag:
            if not _TAG.match(tag):
                raise ApiError("INVALID_ARGUMENT", f"spec.traffic: tag '{tag}' must be lowercase letters, "
                               "digits and hyphens, starting with a letter.", reason="BAD_REQUEST")
            if tag in tags:
                raise ApiError("INVALID_ARGUMENT", f"spec.traffic: tag '{tag}' is used more than once.",
                               reason="BAD_REQUEST")
            tags.add(tag)
    if total != 100:
        raise ApiError("INVALID_ARGUMENT", f"spec.traffic: percentages must sum to 100, got {total}.",
                       reason="BAD_REQUEST")


def region_code(region: str) -> str:
    """Cloud Run's two-letter region code in service URLs (a stable stand-in for regions it does not list)."""
    return {"asia-northeast3": "du", "asia-northeast1": "an", "us-central1": "uc", "europe-west1": "ew"}.get(
        region, hashlib.sha1(region.encode()).hexdigest()[:2])


def prune(value: Any) -> Any:
    """Drop proto3 default values (false, 0, "", empty), as the JSON mapping of a response does."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, False, 0, "", [], {})}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value
