"""`canaria check` lines only Kubernetes can tell: the objects canaria works on, the stable Deployment, RBAC and
how exact the split is. Each line is a catalogue text (English word for word what `check --json` always said)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from canaria.errors import ConfigError, PlatformError
from canaria.i18n.text import msg
from canaria.platforms.base import PlatformCheck
from canaria.platforms.check_lines import check_line, failed_line
from canaria.platforms.kubernetes_objects import Obj, rollout_complete
from canaria.platforms.kubernetes_routers import Router

__all__ = ["KubernetesCheckTarget", "kubernetes_checks"]


@dataclass
class KubernetesCheckTarget:
    """What the checks need from the backend (passed in, so this module does not import it)."""

    stable_name: str
    service_name: str
    router: Router
    verbs: int  # how many verbs canaria needs (all granted once ensure_stable passed)
    ensure_stable: Callable[[], Awaitable[None]]  # raises ConfigError naming what is missing or not allowed
    read_stable: Callable[[], Awaitable[Obj]]


async def kubernetes_checks(target: KubernetesCheckTarget) -> list[PlatformCheck]:
    lines: list[PlatformCheck] = []
    try:
        await target.ensure_stable()
        stable = await target.read_stable()
        lines.append(check_line("kubernetes objects", True, msg(
            "check.kubernetes.objects", deployment=target.stable_name, service=target.service_name,
            router=await target.router.prepare())))
        lines.append(check_line("stable Deployment available", rollout_complete(stable), msg(
            "check.kubernetes.ready", ready=(stable.get("status") or {}).get("readyReplicas", 0),
            wanted=stable["spec"].get("replicas", 1))))
        lines.append(check_line("kubernetes RBAC", True, msg("check.kubernetes.rbac", verbs=target.verbs)))
    except (ConfigError, PlatformError) as exc:
        lines.append(failed_line("kubernetes", exc))
    if target.router.approximate:
        lines.append(check_line("traffic split", True, msg("check.kubernetes.approximate"), warning=True))
    return lines
