"""`canaria check` lines only Cloud Run can tell: who canaria acts as, the service, the permissions, routing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from canaria.errors import CanariaError
from canaria.platforms.base import PlatformCheck
from canaria.platforms.gcp import GoogleAuth, call_google

__all__ = ["CheckTarget", "cloudrun_checks", "REQUIRED_PERMISSIONS"]

#: what canaria calls on the service; roles/run.developer grants them all
REQUIRED_PERMISSIONS = ("run.services.get", "run.services.update", "run.revisions.get", "run.revisions.list",
                        "run.operations.get")


@dataclass
class CheckTarget:
    """What the checks need from the backend (passed in, so this module does not import it)."""

    auth: GoogleAuth
    name: str  # the service's resource name
    tag: str
    image: str | None
    has_match_stage: bool
    services: Any  # run_v2.ServicesClient
    read_roles: Callable[[], Awaitable[tuple[str, str | None]]]  # (stable, canary) of the live service


async def cloudrun_checks(platform: CheckTarget) -> list[PlatformCheck]:
    identity = platform.auth.identity()
    checks: list[PlatformCheck] = []
    try:
        await call_google("Google credentials", platform.auth.refresh)
        checks.append(PlatformCheck("cloudrun: credentials", True, f"acting as {identity}"))
    except CanariaError as exc:
        return [PlatformCheck("cloudrun: credentials", False, f"{identity}: {exc}")]
    try:
        stable, canary = await platform.read_roles()
    except CanariaError as exc:
        checks.append(PlatformCheck("cloudrun: service", False, str(exc)))
        return checks
    serving = f"serves revision {stable}" + (f", canary {canary} (tag {platform.tag})" if canary else "")
    checks.append(PlatformCheck("cloudrun: service", True, f"{platform.name} {serving}"))
    checks.append(await _permissions(platform))
    if not platform.image:
        checks.append(PlatformCheck("cloudrun: canary image", True, "platform.cloudrun.image is not set: pass "
                                    "--image to run / enable-canary", warning=True))
    if platform.has_match_stage:
        checks.append(PlatformCheck("cloudrun: tester route", True, "Cloud Run has no header routing: the match "
                                    f"stage gives the canary 0% and testers use the `{platform.tag}` tag URL",
                                    warning=True))
    return checks


async def _permissions(platform: CheckTarget) -> PlatformCheck:
    from google.iam.v1 import iam_policy_pb2

    request = iam_policy_pb2.TestIamPermissionsRequest(resource=platform.name, permissions=list(REQUIRED_PERMISSIONS))
    try:
        answer = await call_google("Cloud Run: testIamPermissions", platform.services.test_iam_permissions,
                                   request=request)
    except CanariaError as exc:
        return PlatformCheck("cloudrun: permissions", False, str(exc))
    missing = [p for p in REQUIRED_PERMISSIONS if p not in set(answer.permissions)]
    if missing:
        return PlatformCheck("cloudrun: permissions", False, f"missing {', '.join(missing)} on the service: grant "
                             "roles/run.developer (and roles/iam.serviceAccountUser on its runtime service account)")
    return PlatformCheck("cloudrun: permissions", True, "may update the service (" + ", ".join(REQUIRED_PERMISSIONS)
                         + ")")
