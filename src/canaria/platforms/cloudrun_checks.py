"""`canaria check` lines only Cloud Run can tell: who canaria acts as, the service, the permissions, routing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from canaria.errors import CanariaError
from canaria.i18n.text import msg
from canaria.platforms.base import PlatformCheck
from canaria.platforms.check_lines import check_line, failed_line
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
        checks.append(check_line("cloudrun: credentials", True, msg("check.cloudrun.acting_as", identity=identity)))
    except CanariaError as exc:
        return [check_line("cloudrun: credentials", False, msg("check.cloudrun.credentials_failed",
                                                               identity=identity, error=exc.text))]
    try:
        stable, canary = await platform.read_roles()
    except CanariaError as exc:
        checks.append(failed_line("cloudrun: service", exc))
        return checks
    checks.append(check_line("cloudrun: service", True, msg(
        "check.cloudrun.serves_with_canary", name=platform.name, stable=stable, canary=canary, tag=platform.tag)
        if canary else msg("check.cloudrun.serves", name=platform.name, stable=stable)))
    checks.append(await _permissions(platform))
    if not platform.image:
        checks.append(check_line("cloudrun: canary image", True, msg("check.cloudrun.no_image"), warning=True))
    if platform.has_match_stage:
        checks.append(check_line("cloudrun: tester route", True, msg("check.cloudrun.no_header_routing",
                                                                     tag=platform.tag), warning=True))
    return checks


async def _permissions(platform: CheckTarget) -> PlatformCheck:
    from google.iam.v1 import iam_policy_pb2

    request = iam_policy_pb2.TestIamPermissionsRequest(resource=platform.name, permissions=list(REQUIRED_PERMISSIONS))
    try:
        answer = await call_google("Cloud Run: testIamPermissions", platform.services.test_iam_permissions,
                                   request=request)
    except CanariaError as exc:
        return failed_line("cloudrun: permissions", exc)
    missing = [p for p in REQUIRED_PERMISSIONS if p not in set(answer.permissions)]
    if missing:
        return check_line("cloudrun: permissions", False, msg("check.cloudrun.missing_permissions",
                                                              permissions=", ".join(missing)))
    return check_line("cloudrun: permissions", True, msg("check.cloudrun.may_update",
                                                         permissions=", ".join(REQUIRED_PERMISSIONS)))
