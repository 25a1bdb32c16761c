"""Cloud Run: the canary is a revision of the user's service, traffic split by percent between two pinned revisions.

The Cloud Run model (DESIGN §5), through Google's `run_v2` client:
- start: the service's template gets the new image and an explicit revision name; the same write pins the serving
  revision by name at 100 % and gives the new revision 0 % with the tag `canary` (users' tags kept); then wait for
  the revision's Ready condition — a failed revision (image not found, crash, failed probe) raises with Cloud Run's
  own message, which the controller turns into a NO-GO;
- each stage writes `traffic` (never LATEST during a canary), with the service's `etag` so a concurrent change is
  re-read instead of overwritten; `verify_route` is `applied` only when `observed_generation` caught up,
  `reconciling` is false and `traffic_statuses` equal what was written;
- testers: Cloud Run has no header routing — a match stage gives the canary 0 % and testers use its tag URL;
- promote: 100 % to the canary (then LATEST, as configured), rollback: 100 % to the stable revision, tag removed.
The live service is the state: stable and canary are read back from it on every call, so any process
(`canaria rollback` from a terminal, a restarted controller) acts on the same revisions.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any

from canaria.config.platform import CloudRunPlatformConfig
from canaria.errors import ConfigError, InfrastructureError, PlatformError, UsageError
from canaria.i18n.text import literal, msg, render
from canaria.platforms.base import (
    HealthResult,
    Platform,
    PlatformCheck,
    Revision,
    RouteStatus,
    TesterMatch,
    Variant,
    VersionInfo,
)
from canaria.platforms.check_lines import health_result
from canaria.platforms.cloudrun_checks import CheckTarget, cloudrun_checks
from canaria.platforms.cloudrun_traffic import (
    Target,
    TrafficPlan,
    canary_percent,
    find_roles,
    plan_traffic,
    statuses_match,
    without_canary,
)
from canaria.platforms.gcp import GoogleAuth, call_google

if TYPE_CHECKING:
    from canaria.config import CanariaConfig

__all__ = ["CloudRunPlatform"]

_REVISION = 2  # TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
_LATEST = 1


class CloudRunPlatform(Platform):
    kind = "cloudrun"
    supports_match = False  # no header routing on Cloud Run: the canary tag URL is the testers' route

    def __init__(self, config: CanariaConfig, *, owned: bool = False, auth: GoogleAuth | None = None) -> None:
        super().__init__(config, owned=owned)
        platform = config.platform
        if not isinstance(platform, CloudRunPlatformConfig):
            raise ConfigError("the cloudrun backend needs platform.kind: cloudrun", field="platform.kind")
        settings = platform.cloudrun
        self.settings = settings
        self.auth = auth or GoogleAuth(settings.project)
        self.name = f"projects/{self.auth.project}/locations/{settings.region}/services/{settings.service}"
        self.services, self.revisions = self.auth.run_clients(settings.api_endpoint)
        self.tag: str = settings.tag
        self.poll = float(settings.poll_interval)
        self.match: TesterMatch | None = None  # the tester route last asked for (realised as the tag URL)
        self.requested: float | None = None  # the weight last asked for (Cloud Run takes whole percents)

    # ------------------------------------------------------------ reading the live service
    async def _service(self) -> Any:
        return await call_google(f"Cloud Run: reading service {self.name}", self.services.get_service,
                                 name=self.name)

    def _roles(self, service: Any) -> tuple[str, str | None]:
        return find_roles(_targets(service.traffic), _targets(service.traffic_statuses),
                          _short(service.latest_ready_revision), self.tag)

    async def _revision(self, short: str) -> Any:
        return await call_google(f"Cloud Run: reading revision {short}", self.revisions.get_revision,
                                 name=f"{self.name}/revisions/{short}")

    # ------------------------------------------------------------ writing
    async def _write(self, change: str, build: Any) -> Any:
        """get → modify → update with the etag; a concurrent change (409) is re-read and retried twice."""
        from google.api_core import exceptions as gexc

        for attempt in range(3):
            service = await self._service()
            if not build(service):
                return None  # already as wanted: idempotent
            try:
                return await call_google(f"Cloud Run: {change} on {self.settings.service}",
                                         self.services.update_service, service=service)
            except PlatformError as exc:
                if not isinstance(exc.__cause__, gexc.Conflict) or attempt == 2:
                    raise
        return None

    def _set_traffic(self, service: Any, plan: TrafficPlan) -> bool:
        from google.cloud import run_v2

        wanted = [run_v2.TrafficTarget(type_=_LATEST if t.latest else _REVISION, revision=t.revision or "",
                                       percent=t.percent, tag=t.tag) for t in plan.targets]
        if _targets(service.traffic) == list(plan.targets):
            return False
        service.traffic = wanted
        return True

    # ------------------------------------------------------------ Platform
    async def ensure_stable(self) -> None:
        self._roles(await self._service())

    async def start_canary(self) -> None:
        image = self.settings.image
        if not image:
            raise ConfigError("no canary image: set platform.cloudrun.image or pass --image",
                              field="platform.cloudrun.image")
        service = await self._service()
        stable, canary = self._roles(service)
        if canary is None or _image(await self._revision(canary)) != image:
            canary = self._revision_name(image)
            await self._deploy(image, stable, canary)
        await self._wait_ready(canary)
        await self._wait_applied(f"the 0% route with tag {self.tag}")

    def _revision_name(self, image: str) -> str:
        suffix = hashlib.sha1(f"{image}/{time.time()}".encode()).hexdigest()[:5]
        name = f"{self.settings.service}-canary-{suffix}"
        return name if len(name) <= 63 else f"{self.settings.service}-c{suffix}"

    async def _deploy(self, image: str, stable: str, canary: str) -> None:
        def build(service: Any) -> bool:
            containers = list(service.template.containers)
            index = _container_index(containers, self.settings.container)
            containers[index].image = image
            service.template.containers = containers
            service.template.revision = canary
            plan = plan_traffic(_targets(service.traffic), stable=stable, canary=canary, canary_share=0, tag=self.tag)
            self._set_traffic(service, plan)
            return True

        await self._write(f"deploying {image} as revision {canary} with 0% traffic", build)

    async def _wait_ready(self, short: str) -> None:
        deadline = time.monotonic() + float(self.settings.ready_timeout)
        last = "still reconciling"
        while True:
            ready = _ready_condition(await self._revision(short))
            if ready is not None and ready.state.name == "CONDITION_SUCCEEDED":
                return
            if ready is not None and ready.state.name == "CONDITION_FAILED":
                raise InfrastructureError(f"Cloud Run revision {short} failed: {ready.message or ready.reason}")
            if ready is not None and ready.message:
                last = ready.message
            if time.monotonic() >= deadline:
                raise InfrastructureError(f"Cloud Run revision {short} not Ready after "
                                          f"{self.settings.ready_timeout:.0f}s ({last})")
            await asyncio.sleep(self.poll)

    async def _wait_applied(self, what: str) -> None:
        """Until Cloud Run applies the last write (so the tag URL exists), within ready_timeout."""
        deadline = time.monotonic() + float(self.settings.ready_timeout)
        while (status := await self.verify_route()).state != "applied":
            if time.monotonic() >= deadline:
                raise InfrastructureError(f"Cloud Run did not apply {what} within "
                                          f"{self.settings.ready_timeout:.0f}s ({status.detail})")
            await asyncio.sleep(self.poll)

    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        share = canary_percent(weight)
        self.match, self.requested = match, weight

        def build(service: Any) -> bool:
            stable, canary = self._roles(service)
            if canary is None:
                raise UsageError("no canary revision (tag "
                                 f"{self.tag}) on {self.settings.service}: start the canary first")
            return self._set_traffic(service, plan_traffic(_targets(service.traffic), stable=stable,
                                                           canary=canary, canary_share=share, tag=self.tag))

        await self._write(f"setting traffic to {share}% canary", build)

    async def verify_route(self) -> RouteStatus:
        service = await self._service()
        _, canary = self._roles(service)
        statuses = _targets(service.traffic_statuses)
        weight = float(sum(s.percent for s in statuses if canary and s.revision == canary))
        generation, observed = int(service.generation), int(service.observed_generation)
        if service.reconciling or observed < generation:
            return RouteStatus("pending", weight=weight, detail=f"generation {generation} observed {observed}"
                               f"{', reconciling' if service.reconciling else ''}")
        if not statuses_match(_targets(service.traffic), statuses, _short(service.latest_ready_revision)):
            why = service.terminal_condition.message or "traffic_statuses differ from traffic"
            return RouteStatus("pending", weight=weight, detail=why)
        split = ", ".join(t.describe() for t in statuses)
        detail = f"traffic_statuses {split} (generation {generation})"
        approximate = self.requested is not None and canary_percent(self.requested) != self.requested
        if approximate:
            detail += f"; Cloud Run takes whole percents: {self.requested:g}% asked, {weight:g}% applied"
        if self.match is not None:
            url = next((s.uri for s in service.traffic_statuses if s.tag == self.tag), "")
            return RouteStatus("unsupported", weight=weight, approximate=approximate,
                               detail=f"Cloud Run has no header routing ({self.match.describe()} is not routed): "
                                      f"testers use the tag URL {url}; {detail}")
        return RouteStatus("applied", weight=weight, detail=detail, approximate=approximate)

    async def canary_problem(self) -> str | None:
        _, canary = self._roles(await self._service())
        if canary is None:
            return None
        ready = _ready_condition(await self._revision(canary))
        if ready is not None and ready.state.name == "CONDITION_FAILED":
            return f"Cloud Run revision {canary} failed: {ready.message or ready.reason}"
        return None

    async def rollback(self, *, keep_canary: bool = False) -> None:
        def build(service: Any) -> bool:
            stable, canary = self._roles(service)
            if canary is None:
                return False  # no canary revision is tagged: nothing of canaria's to take back
            current = TrafficPlan(stable=stable, canary=canary, targets=tuple(_targets(service.traffic)))
            return self._set_traffic(service, without_canary(current, self.tag, to=stable, keep_tag=keep_canary))

        self.match, self.requested = None, None  # no tester route or split is asked any more
        await self._write("rolling back: 100% to the stable revision", build)

    async def promote(self) -> None:
        latest = self.settings.promote_to == "latest"

        def build(service: Any) -> bool:
            stable, canary = self._roles(service)
            if canary is None:
                return False  # promoted already
            current = TrafficPlan(stable=stable, canary=canary, targets=tuple(_targets(service.traffic)))
            as_latest = latest and _short(service.latest_created_revision) == canary
            return self._set_traffic(service, without_canary(current, self.tag, to=canary, latest=as_latest,
                                                             keep_tag=self.settings.keep_tag_on_promote))

        self.match, self.requested = None, None
        await self._write("promoting: 100% to the canary revision", build)

    async def restart(self, variant: Variant) -> str:
        """Cloud Run restarts instances by a new revision of the same image; the variant's share moves to it."""
        service = await self._service()
        stable, canary = self._roles(service)
        old = canary if variant == "canary" else stable
        if old is None:
            raise UsageError("no canary revision to restart")
        source = await self._revision(old)
        new = f"{self.settings.service}-restart-{hashlib.sha1(f'{old}{time.time()}'.encode()).hexdigest()[:5]}"

        def build(service: Any) -> bool:
            _copy_template(source, service.template)
            service.template.revision = new
            targets = [replace_revision(t, old, new) for t in _targets(service.traffic)]
            self._set_traffic(service, TrafficPlan(stable=stable, canary=canary, targets=tuple(targets)))
            return True

        await self._write(f"restarting the {variant}: new revision {new} of {_image(source)}", build)
        await self._wait_ready(new)
        return f"new revision {new} of image {_image(source)} replaced {old} (Cloud Run restarts by revision)"

    async def describe(self) -> dict[Variant, VersionInfo]:
        service = await self._service()
        stable, canary = self._roles(service)
        uris = {s.tag: s.uri for s in service.traffic_statuses if s.tag}
        info: dict[Variant, VersionInfo] = {}
        pairs: tuple[tuple[Variant, str | None], ...] = (("stable", stable), ("canary", canary))
        for variant, short in pairs:
            if short is None:
                info[variant] = VersionInfo(variant=variant, image=self.settings.image if variant == "canary" else None)
                continue
            image = _image(await self._revision(short))
            url = uris.get(self.tag) if variant == "canary" else service.uri
            info[variant] = VersionInfo(variant=variant, version=short, image=image, revision=short, url=url)
        return info

    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        """Cloud Run probes the containers itself: the revision's Ready condition is its health."""
        path = "/health/detailed" if detailed else "/health"
        stable, canary = self._roles(await self._service())
        short = canary if variant == "canary" else stable
        if short is None:
            return health_result(variant, path, False, None, msg("check.health.no_canary_revision"))
        ready = _ready_condition(await self._revision(short))
        ok = ready is not None and ready.state.name == "CONDITION_SUCCEEDED"
        reason = literal(ready.message) if ready is not None else msg("check.health.no_ready_condition")
        text = msg("check.health.revision_ready", revision=short) if ok else \
            msg("check.health.revision_not_ready", revision=short, reason=reason)
        return health_result(variant, path, ok, 200 if ok else None, text)

    def rollback_plan(self) -> list[str]:
        return [render(step, "en") for step in self.rollback_plan_text()]

    def rollback_plan_text(self) -> list[dict[str, Any]]:
        return [msg("plan.cloudrun.read_service", name=self.name), msg("plan.cloudrun.write_traffic", tag=self.tag),
                msg("plan.cloudrun.wait_applied"), msg("plan.cloudrun.revision_stays")]

    async def checks(self) -> list[PlatformCheck]:
        async def read_roles() -> tuple[str, str | None]:
            return self._roles(await self._service())

        return await cloudrun_checks(CheckTarget(
            auth=self.auth, name=self.name, tag=self.tag, image=self.settings.image, services=self.services,
            has_match_stage=any(stage.match is not None for stage in self.config.plan.stages), read_roles=read_roles))

    async def history(self) -> list[Revision]:
        service = await self._service()
        shares = {s.revision: float(s.percent) for s in service.traffic_statuses}
        pager = await call_google(f"Cloud Run: listing revisions of {self.settings.service}",
                                  lambda: list(self.revisions.list_revisions(parent=self.name)))
        out = []
        for item in pager:
            short = _short(item.name)
            ready = _ready_condition(item)
            state = ready.state.name.removeprefix("CONDITION_").lower() if ready is not None else "unknown"
            out.append(Revision(name=short, created_at=item.create_time.timestamp() if item.create_time else None,
                                image=_image(item), traffic=shares.get(short, 0.0), detail=state))
        return sorted(out, key=lambda r: r.created_at or 0.0, reverse=True)

    async def rollback_to_revision(self, revision: str) -> str:
        ready = _ready_condition(await self._revision(revision))
        if ready is None or ready.state.name != "CONDITION_SUCCEEDED":
            raise UsageError(f"revision {revision} is not Ready and cannot serve traffic")

        def build(service: Any) -> bool:
            current = TrafficPlan(stable=revision, canary=None, targets=tuple(_targets(service.traffic)))
            return self._set_traffic(service, without_canary(current, self.tag, to=revision))

        await self._write(f"rolling back to revision {revision}", build)
        return f"traffic 100% to revision {revision}"

    async def close(self) -> None:
        for client in (self.services, self.revisions):
            transport = getattr(client, "transport", None)
            if transport is not None:
                transport.close()


# ------------------------------------------------------------ proto helpers
def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1] if name else ""


def _targets(items: Any) -> list[Target]:
    return [Target(revision=t.revision or None, percent=int(t.percent), tag=t.tag,
                   latest=int(t.type_) == _LATEST) for t in items]


def replace_revision(target: Target, old: str, new: str) -> Target:
    return Target(revision=new, percent=target.percent, tag=target.tag) if target.revision == old else target


def _image(revision: Any) -> str | None:
    containers = list(revision.containers)
    return containers[0].image if containers else None


def _ready_condition(revision: Any) -> Any:
    return next((c for c in revision.conditions if c.type_ == "Ready"), None)


def _container_index(containers: list[Any], name: str | None) -> int:
    if not containers:
        raise PlatformError("the service's template has no container")
    if name is None:
        return 0
    for i, container in enumerate(containers):
        if container.name == name:
            return i
    names = ", ".join(c.name or f"#{i}" for i, c in enumerate(containers))
    raise ConfigError(f"no container {name!r} in the service (has {names})", field="platform.cloudrun.container")


def _copy_template(revision: Any, template: Any) -> None:
    """A revision's own configuration back into a template (what the revision was created from)."""
    source = type(revision).pb(revision)
    wanted = {f.name for f in type(template).pb(template).DESCRIPTOR.fields} - {"revision", "labels", "annotations"}
    for field, _ in source.ListFields():  # only what the revision sets: an empty message is not a setting
        if field.name in wanted:
            setattr(template, field.name, getattr(revision, field.name))
